"""The local stack: an embedded AWS emulator, the stage's resources, the
published content, the API and its delivery worker, all in one process on
127.0.0.1."""

from __future__ import annotations

import functools
import html
import os
import re
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from chalicelib.settings import PROJECT_DIR, apply_stage_environment

HOST = "127.0.0.1"
EXAMPLE_SITE = PROJECT_DIR / "examples" / "website"
API_URL_PLACEHOLDER = b"%API_URL%"
# `%QUERY:name%` in a page becomes that query parameter, HTML-escaped: what
# lets the confirmation page show the reference with JavaScript off.
QUERY_PLACEHOLDER = re.compile(rb"%QUERY:([a-z_]+)%")
# `<!--#include "header.html" -->` in a page becomes that file of _includes/,
# the parts every page shares, as the real site's layouts give them.
INCLUDE = re.compile(rb'<!--#include "([a-z-]+\.html)" -->')


def start_emulator() -> str:
    """Start moto's server in a thread on a free loopback port; return its URL."""
    import logging

    from moto.server import ThreadedMotoServer

    # Its per-request log would bury the API's own.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}"


def use_emulator(endpoint: str) -> None:
    """Point every AWS client in this process at the emulator, with dummy
    credentials so nothing can reach a real account by accident."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ["AWS_ACCESS_KEY_ID"] = "local"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "local"
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves the example website, telling its pages where the API is.

    A path with no file of its own (`/what-we-do/`) is a content page: it gets
    the page view, index.html, which asks the API for that path.
    """

    api_url = ""

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        elif not path.exists() and not path.suffix:
            path = EXAMPLE_SITE / "index.html"
        if path.suffix not in (".html", ".js") or not path.is_file():
            return super().send_head()
        page = path.read_bytes()
        if path.suffix == ".html":
            page = INCLUDE.sub(
                lambda name: (EXAMPLE_SITE / "_includes" / name[1].decode()).read_bytes(), page
            )
            query = parse_qs(urlsplit(self.path).query)
            page = QUERY_PLACEHOLDER.sub(
                lambda name: html.escape(query.get(name[1].decode(), [""])[0]).encode(), page
            )
        page = page.replace(API_URL_PLACEHOLDER, self.api_url.encode())
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(page)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        return _Bytes(page)

    def log_message(self, format, *args):  # the API's log is the one to read
        pass


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, *_args) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:
        pass


def serve_example_site(port: int, api_url: str) -> str | None:
    if not EXAMPLE_SITE.is_dir():
        return None
    handler = type("SiteHandler", (_SiteHandler,), {"api_url": api_url})
    server = ThreadingHTTPServer((HOST, port), functools.partial(handler, directory=str(EXAMPLE_SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_address[1]}"


# What EventBridge sends the retry schedule's function.
_SCHEDULED_EVENT = {"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                    "account": "", "time": "", "region": "", "resources": [], "detail": {}}  # fmt: skip


def run_delivery_worker(handlers, queue: str, *, retry_every: float = 300.0) -> threading.Thread:
    """What Lambda does in AWS, in a thread: hand each message on the
    delivery queue to the `deliver_submissions` handler, as an SQS event,
    deleting it once handled (left on the queue if the handler raised, as
    Lambda does), and call `retry_submissions` every 5 minutes."""
    import time
    import traceback

    from chalicelib import aws

    # Made here, not in the thread: making clients is not thread-safe.
    url = aws.queue_url(queue)

    def poll() -> None:
        next_retry = time.monotonic() + retry_every
        while True:
            try:
                messages = (
                    aws.sqs()
                    .receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
                    .get("Messages", [])
                )
                for message in messages:
                    record = {"body": message["Body"], "messageId": message["MessageId"],
                              "receiptHandle": message["ReceiptHandle"], "eventSource": "aws:sqs"}  # fmt: skip
                    handlers.deliver_submissions({"Records": [record]}, None)
                    aws.sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                if time.monotonic() >= next_retry:
                    next_retry = time.monotonic() + retry_every
                    handlers.retry_submissions(_SCHEDULED_EVENT, None)
            except Exception:  # the worker outlives any one failure, as Lambda's poller does
                traceback.print_exc()
                time.sleep(1)

    worker = threading.Thread(target=poll, name="delivery-worker", daemon=True)
    worker.start()
    return worker


def run_local_stack(
    port: int = 8000,
    aws_endpoint: str | None = None,
    content_dir: Path = PROJECT_DIR / "content",
    site_port: int = 8080,
) -> None:
    from chalice.cli.factory import CLIFactory

    from chalicelib.content import publishing

    from .provision import provision

    endpoint = aws_endpoint or start_emulator()
    use_emulator(endpoint)
    settings = apply_stage_environment("local")
    print(f"AWS emulator:  {endpoint}  (state: {endpoint}/moto-api/)", flush=True)
    provision(settings, report=lambda line: print(f"  provision: {line}"))
    publishing.publish_directory(content_dir, report=lambda line: print(f"  publish: {line}"))

    api_url = f"http://{HOST}:{port}"
    site_url = serve_example_site(site_port, api_url)
    if site_url:
        print(f"Example site:  {site_url}/", flush=True)
        if site_url not in settings.site_origins:
            print(
                f"  note: {site_url} is not in NLC_SITE_ORIGINS, so its pages cannot read the API", flush=True
            )

    # What `chalice local --stage local` runs, in this process, so that it
    # shares the emulator and the environment set above.
    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=dict(os.environ))
    config = factory.create_config_obj(chalice_stage_name="local")
    server = factory.create_local_server(config.chalice_app, config, HOST, port)
    # Chalice has imported app.py: its event handlers, as Lambda would call them.
    run_delivery_worker(sys.modules["app"], settings.delivery_queue)
    print(f"Delivery:      queue {settings.delivery_queue}, sent by a worker as Lambda would", flush=True)
    print(f"API:           {api_url}/content?path=/what-we-do/", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
