"""The local stack: an embedded AWS emulator, the stage's resources, the
published content, the API and its delivery worker, all in one process on
127.0.0.1."""

from __future__ import annotations

import functools
import html
import json
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalice.local import ChaliceRequestHandler, ForbiddenError, LocalGatewayException

from chalicelib.settings import PROJECT_DIR, Settings, apply_stage_environment
from chalicelib.web.errors import error_response

from .resources import NO_SUCH_ROUTE

HOST = "127.0.0.1"
EXAMPLE_SITE = PROJECT_DIR / "examples" / "website"
API_URL_PLACEHOLDER = b"%API_URL%"
# `%QUERY:name%` in a page becomes that query parameter, HTML-escaped: what
# lets the confirmation page show the reference with JavaScript off.
QUERY_PLACEHOLDER = re.compile(rb"%QUERY:([a-z_]+)%")
# `<!--#include "header.html" -->` in a page becomes that file of _includes/,
# the parts every page shares, as the real site's layouts give them.
INCLUDE = re.compile(rb'<!--#include "([a-z-]+\.html)" -->')
# GOV.UK Frontend's precompiled files (`make run` installs them with npm
# ci), at the addresses its stylesheet names for fonts and images.
GOVUK_FRONTEND = EXAMPLE_SITE / "node_modules" / "govuk-frontend" / "dist" / "govuk"
GOVUK_FRONTEND_URLS = {
    "/assets/govuk/": GOVUK_FRONTEND,
    "/assets/fonts/": GOVUK_FRONTEND / "assets" / "fonts",
    "/assets/images/": GOVUK_FRONTEND / "assets" / "images",
}
STATE_FILE = PROJECT_DIR / "build" / "local-stack.json"
NOT_RUNNING = (
    "the local stack is not running: start it with `make run` (or `nlc-api local`) in another terminal"
)


def state_file() -> Path:
    """Where a running stack says where its emulator listens, for the other
    `--stage local` commands (NLC_LOCAL_STATE names another file)."""
    return Path(os.environ.get("NLC_LOCAL_STATE") or STATE_FILE)


def read_state() -> dict | None:
    try:
        return json.loads(state_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _answers(url: str) -> bool:
    """Whether something listens at a URL's host and port."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError:
        return False
    return True


def record_state(endpoint: str, api_url: str, site_url: str | None) -> dict:
    """Write the state file, unless another running stack owns it."""
    state = {"emulator": endpoint, "api": api_url, "site": site_url, "pid": os.getpid()}
    current = read_state()
    if current and current.get("pid") != os.getpid() and _answers(current.get("emulator", "")):
        print(f"  note: {state_file()} names another running stack; the CLI will use that one", flush=True)
        return {}
    state_file().parent.mkdir(parents=True, exist_ok=True)
    state_file().write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return state


def forget_state(state: dict) -> None:
    if state and read_state() == state:
        state_file().unlink(missing_ok=True)


def connect_to_local_stack() -> str:
    """Point this process's AWS clients at the running local stack's
    emulator, as the state file names it (or AWS_ENDPOINT_URL, if set);
    return its URL. Never reaches a real AWS account."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or (read_state() or {}).get("emulator")
    if not endpoint:
        raise LocalStackError(NOT_RUNNING)
    if not _answers(endpoint):
        raise LocalStackError(f"{NOT_RUNNING} (nothing answers at {endpoint})")
    use_emulator(endpoint)
    return endpoint


def start_emulator() -> tuple[str, Callable[[], None]]:
    """Start moto's server in a thread on a free loopback port; return its
    URL and what stops it."""
    import logging

    from moto.server import ThreadedMotoServer

    # Its per-request log would bury the API's own.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}", server.stop


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

    def translate_path(self, path: str) -> str:
        """GOV.UK Frontend's files from node_modules, where its stylesheet
        expects them; npm's own files are not the site's to serve."""
        url_path = urlsplit(path).path
        for prefix, folder in GOVUK_FRONTEND_URLS.items():
            if url_path.startswith(prefix):
                return str(folder / url_path.removeprefix(prefix))
        if url_path.startswith("/node_modules/") or url_path.startswith("/package"):
            return str(EXAMPLE_SITE / "_not_served")
        return super().translate_path(path)

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


class _ApiHandler(ChaliceRequestHandler):
    """Chalice's local server, answering in the API's error shape what never
    reaches the app, as API Gateway's gateway responses do in AWS (see
    resources.GATEWAY_RESPONSES): an unknown route is a 404, a method HTTP
    has but the API does not is a 405, and HEAD gets headers only."""

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in (error.body or b""):
            self._send_ours(404, "not_found", NO_SUCH_ROUTE)
        else:
            super()._send_error_response(error)

    def _send_http_response_with_body(self, code: int, headers: Any, body: str | bytes) -> None:
        super()._send_http_response_with_body(code, headers, b"" if self.command == "HEAD" else body)

    def _method_not_allowed(self) -> None:
        self._send_ours(405, "method_not_allowed", f"This API does not answer {self.command} requests.")

    do_TRACE = do_CONNECT = _method_not_allowed

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the standard library answers in HTML (a malformed request, an
        unknown method), in JSON."""
        self.close_connection = True
        if code == 501:  # a method HTTP does not define
            code, message = 405, f"This API does not answer {self.command} requests."
        self._send_ours(code, _STATUS_CODES.get(code, "bad_request"), message or "The request is not valid.")

    def _send_ours(self, status: int, code: str, message: str) -> None:
        response = error_response(status, code, message)
        self._send_http_response(status, dict(response.headers), response.body)


_STATUS_CODES = {404: "not_found", 405: "method_not_allowed", 414: "uri_too_long", 431: "headers_too_large"}


class LocalStackError(Exception):
    """Something stops the local stack before it starts: said in one line."""


def unstyled_site_note(frontend: Path = GOVUK_FRONTEND) -> str | None:
    """One line saying how to install GOV.UK Frontend, if the example site
    would be served without it (its styles, fonts and scripts); else None."""
    if frontend.is_dir():
        return None
    return (
        "  note: GOV.UK Frontend is not installed, so the example site is unstyled: "
        "run `npm ci --prefix examples/website` (`make run` does)"
    )


def check_ports_free(ports: dict[str, int]) -> None:
    """Stop before any work if a port the stack needs is taken (0 is any free port)."""
    taken = [number for number in ports.values() if number]
    for what, number in ports.items():
        if number and taken.count(number) > 1:
            raise LocalStackError(f"port {number} is asked for twice: give {what} a port of its own")
        if number and not _port_free(number):
            raise LocalStackError(
                f"port {number} ({what}) is in use by another program: stop it, or choose another port"
            )


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As the servers bind: a port left in TIME_WAIT is free to them.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def local_stage_settings(site_port: int) -> Settings:
    """The local stage's settings, its site origins and confirmation page
    following the example site's port (a variable already set still wins)."""
    if site_port:
        os.environ.setdefault("NLC_SITE_ORIGINS", f"http://localhost:{site_port},http://{HOST}:{site_port}")
        os.environ.setdefault("NLC_CONFIRMATION_URL", f"http://localhost:{site_port}/request-received.html")
    return apply_stage_environment("local")


def prepare_stage(settings: Settings, content_dir: Path) -> None:
    """Provision the local stage in the emulator and publish the content;
    content that does not validate raises PublishError, reported as
    `nlc-api publish` reports it."""
    from chalicelib.content.publishing import publish

    from .provision import provision

    provision(settings, report=lambda line: print(f"  provision: {line}"))
    publish.publish_directory(content_dir, report=lambda line: print(f"  publish: {line}"))


def create_api_server(port: int) -> Any:
    """What `chalice local --stage local` runs, in this process, so that it
    shares the emulator and the environment set above."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=dict(os.environ))
    config = factory.create_config_obj(chalice_stage_name="local")
    server = factory.create_local_server(config.chalice_app, config, HOST, port)
    # Chalice's handler, bound to the app and config, with our answers for
    # what never reaches the app.
    chalice_handler = server.server.RequestHandlerClass
    server.server.RequestHandlerClass = functools.partial(
        _ApiHandler, *chalice_handler.args, **chalice_handler.keywords
    )
    return server


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
    """Check the ports, then start each part: emulator, stage, example site, API."""
    check_ports_free({"the API, --port": port, "the example site, --site-port": site_port})
    settings = local_stage_settings(site_port)
    endpoint = aws_endpoint or start_emulator()[0]
    use_emulator(endpoint)
    print(f"AWS emulator:  {endpoint}  (state: {endpoint}/moto-api/)", flush=True)
    prepare_stage(settings, content_dir)

    api_url = f"http://{HOST}:{port}"
    site_url = serve_example_site(site_port, api_url)
    if site_url:
        print(f"Example site:  {site_url}/", flush=True)
        if site_url not in settings.site_origins:
            print(
                f"  note: {site_url} is not in NLC_SITE_ORIGINS, so its pages cannot read the API", flush=True
            )
        unstyled = unstyled_site_note()
        if unstyled:
            print(unstyled, flush=True)
    server = create_api_server(port)
    # Chalice has imported app.py: its event handlers, as Lambda would call them.
    run_delivery_worker(sys.modules["app"], settings.delivery_queue)
    print(f"Delivery:      queue {settings.delivery_queue}, sent by a worker as Lambda would", flush=True)
    print(f"API:           {api_url}/content?path=/what-we-do/", flush=True)
    state = record_state(endpoint, api_url, site_url)
    print("Press Ctrl+C to stop.", flush=True)
    # A plain `kill` stops it as Ctrl+C does, forgetting the state file.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("Stopped.")
    finally:
        forget_state(state)
