"""Cold start as Lambda runs it: the deployment package `make package`
builds, unzipped into a read-only folder, first on `sys.path`, with
`PYTHONDONTWRITEBYTECODE=1` and boto3 from this environment (Lambda's
runtime provides it, compiled). A fresh process calls the handler with an
API Gateway event and is timed from its start to the handler's answer (the
process's exit is left out: Lambda keeps the process for the next request).

Each request is measured against its floor: a minimal Chalice app, run on
the same package's Chalice runtime in the same conditions, making the same
AWS calls by hand. All run against the same emulator on loopback, one of
each in turn, so that machine noise falls on all alike; reported are the
medians and the ratio, and the form post's heaviest imports
(`-X importtime`).

`python -m benchmarks.cold_start --package ZIP` measures a package built
elsewhere (say, before a change); `--runs N` sets the count.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from pathlib import Path

from benchmarks.emulator import start
from chalicelib.settings import PROJECT_DIR, get_settings

# At least 21: with fewer the ratios moved by 0.1 and more between runs on
# the shared 2-core machine.
RUNS = 21
TOP_IMPORTS = 20

EVENT = """
import json


def event(path, query=None, method="GET", body=None):
    headers = {"Host": "localhost", "Content-Type": "application/json"}
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None,
        "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "api",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }
"""

PDF_URL = (
    "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
    "attachment_data/file/799567/6.4846_CO_CPSL-Report_A4-P_WEB_NoLogo__002.pdf"
)
ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}
ACCESSIBLE = {"email": "grace@example.com", "document_url": PDF_URL, "format": "large-print"}

OURS_READ = """
from app import app
response = app(event("/content", {"path": "/what-we-do/"}), None)
assert response["statusCode"] == 200, response
"""

# Each run a new submission (a repeated one would be answered from the table).
OURS_POST = """
import uuid
from app import app
body = {body!r}
body["{field}"] = body.get("{field}", "") + uuid.uuid4().hex
response = app(event("{path}", method="POST", body=body), None)
assert response["statusCode"] == 202, response
"""

MINIMAL_APP = """
import json
import os
import uuid

import boto3
from chalice import Chalice

app = Chalice(app_name="minimal")


def get_item(pk, sk):
    item = boto3.client("dynamodb").get_item(
        TableName=os.environ["NLC_CONTENT_TABLE"], Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )
    return "Item" in item


def store_and_queue(body):
    # What a form post does, by hand: the submission and its two rate-limit
    # counters in one transaction, then the reference to the queue.
    table = os.environ["NLC_SUBMISSIONS_TABLE"]
    reference = uuid.uuid4().hex
    counters = [{"Update": {
        "TableName": table, "Key": {"pk": {"S": f"rate#{scope}#{reference}"}, "sk": {"S": "-"}},
        "UpdateExpression": "ADD #count :one", "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
        "ExpressionAttributeNames": {"#count": "count"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": "1000"}}}} for scope in ("ip", "email")]
    boto3.client("dynamodb").transact_write_items(TransactItems=[{"Put": {
        "TableName": table,
        "Item": {"pk": {"S": "submission#" + reference}, "sk": {"S": "-"}, "fields": {"S": json.dumps(body)}},
        "ConditionExpression": "attribute_not_exists(pk)"}}, *counters], ClientRequestToken=reference)
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["NLC_DELIVERY_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=reference)
    return {"reference": reference}


@app.route("/")
def index():
    return {"found": get_item("path#/what-we-do/", "-")}


@app.route("/enquiries", methods=["POST"])
def enquiry():
    return store_and_queue(app.current_request.json_body)


@app.route("/accessible-format-requests", methods=["POST"])
def accessible_format_request():
    body = app.current_request.json_body
    get_item("documents", body["document_url"])
    return store_and_queue(body)
"""

MINIMAL_READ = """
from minimal_app import app
response = app(event("/"), None)
assert response["statusCode"] == 200, response
"""

MINIMAL_POST = """
from minimal_app import app
response = app(event("{path}", method="POST", body={body!r}), None)
assert response["statusCode"] == 200, response
"""

# The last line each script prints: when the handler answered, on the
# system-wide monotonic clock the parent reads too.
ANSWERED = "\nimport time\nprint('answered at', time.monotonic())\n"


def _requests() -> list[tuple[str, str, str, str]]:
    """Each request: what it is, our script, the floor's, the floor's calls."""
    store = "TransactWriteItems, GetQueueUrl, SendMessage"
    return [
        ("`GET /content?path=/what-we-do/`", OURS_READ, MINIMAL_READ, "GetItem"),
        (
            "`POST /enquiries` (JSON)",
            OURS_POST.format(body=ENQUIRY, field="message", path="/enquiries"),
            MINIMAL_POST.format(body=ENQUIRY, path="/enquiries"),
            store,
        ),
        (
            "`POST /accessible-format-requests` (JSON)",
            OURS_POST.format(body=ACCESSIBLE, field="message", path="/accessible-format-requests"),
            MINIMAL_POST.format(body=ACCESSIBLE, path="/accessible-format-requests"),
            f"GetItem, {store}",
        ),
    ]


class Lambda:
    """Fresh processes as Lambda starts them, on an unzipped package."""

    def __init__(self, task: Path, minimal: Path) -> None:
        self.task, self.minimal = task, minimal
        self.env = {**os.environ, "PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1"}

    def time(self, script: str, floor: bool, *options: str) -> tuple[float, str]:
        """Seconds from starting the process to the handler's answer, and
        what it wrote to stderr."""
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, *options, "-c", textwrap.dedent(EVENT + script) + ANSWERED],
            cwd=self.minimal if floor else self.task,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            raise RuntimeError(run.stderr)
        return float(run.stdout.rsplit("answered at", 1)[1]) - started, run.stderr


def _read_only(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)


def _writable(folder: Path) -> None:
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def build_package(out: Path) -> Path:
    """The prod stage's package, as `make package` builds it."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        ["scripts/package.sh", "prod", str(out)], cwd=PROJECT_DIR, env=env, check=True, capture_output=True
    )
    return out / "deployment.zip"


def top_imports(stderr: str, count: int = TOP_IMPORTS) -> list[tuple[str, int]]:
    """The modules whose own import took longest, from `-X importtime`."""
    found = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "self [us]" not in line:
            own, _, name = line.removeprefix("import time:").split("|")
            found.append((name.strip(), int(own)))
    return sorted(found, key=lambda item: -item[1])[:count]


def measure(package: Path, runs: int = RUNS) -> list[tuple[str, str]]:
    start(PROJECT_DIR / "content")
    settings = get_settings()
    os.environ.update(
        {
            "NLC_CONTENT_TABLE": settings.content_table,
            "NLC_SUBMISSIONS_TABLE": settings.submissions_table,
            "NLC_DELIVERY_QUEUE": settings.delivery_queue,
        }
    )
    with tempfile.TemporaryDirectory() as folder:
        task, minimal = Path(folder) / "task", Path(folder) / "minimal"
        zipfile.ZipFile(package).extractall(task)
        minimal.mkdir()
        (minimal / "minimal_app.py").write_text(MINIMAL_APP)
        _read_only(task)
        _read_only(minimal)
        try:
            return _measure(Lambda(task, minimal), package, runs)
        finally:
            _writable(task)
            _writable(minimal)


def _measure(lam: Lambda, package: Path, runs: int) -> list[tuple[str, str]]:
    requests = _requests()
    timings: dict[tuple[str, bool], list[float]] = {}
    for script_runs in range(runs + 1):  # the first of each warms the file cache
        for what, ours, floor, _ in requests:
            for is_floor, script in ((False, ours), (True, floor)):
                seconds, _ = lam.time(script, is_floor)
                if script_runs:
                    timings.setdefault((what, is_floor), []).append(seconds)
    kilobytes = package.stat().st_size // 1024
    figures = [("package measured", f"{package.name}, {kilobytes:,} KB")]
    for what, _, _, calls in requests:
        ours_ms = statistics.median(timings[what, False]) * 1000
        floor_ms = statistics.median(timings[what, True]) * 1000
        figures += [
            (f"cold start, minimal Chalice app + {calls} (median of {runs})", f"{floor_ms:.0f} ms"),
            (f"cold start, this app: {what} (median of {runs})", f"{ours_ms:.0f} ms"),
            (f"ratio, {what}", f"{ours_ms / floor_ms:.2f}x"),
        ]
    _, stderr = lam.time(requests[1][1], False, "-X", "importtime")
    for name, microseconds in top_imports(stderr):
        figures.append((f"import (self), `POST /enquiries`: {name}", f"{microseconds / 1000:.1f} ms"))
    return figures


def run(runs: int = RUNS, package: Path | None = None) -> list[tuple[str, str]]:
    if package is not None:
        return measure(package, runs)
    with tempfile.TemporaryDirectory() as folder:
        return measure(build_package(Path(folder) / "package"), runs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--package", type=Path, help="a deployment.zip to measure (default: build one)")
    parser.add_argument("--runs", type=int, default=RUNS)
    args = parser.parse_args()
    for name, value in run(args.runs, args.package):
        print(f"{name}: {value}")
