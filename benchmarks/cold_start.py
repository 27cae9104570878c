"""Cold start: a fresh Python process that imports `app` and serves one page
or accepts one enquiry, against a minimal Chalice app that imports boto3 and
makes the same AWS calls by hand.

Both run as Lambda runs them (the handler called with an API Gateway event)
in new processes, against the same emulator on loopback, interleaved so that
machine noise falls on both alike. Reported: the median time from starting
the process to the handler's answer. The process's exit after it is left
out, as Lambda keeps the process for the next request.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchmarks.emulator import start
from chalicelib.settings import PROJECT_DIR, get_settings

# Enough for a steady median on a shared machine (15 moved the ratio by 0.4).
RUNS = 41

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

ENQUIRY = '{"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}'

OURS_READ = (
    EVENT
    + """
from app import app
response = app(event("/content", {"path": "/what-we-do/"}), None)
assert response["statusCode"] == 200, response
"""
)

OURS_FORM = (
    EVENT
    + f"""
import uuid
from app import app
enquiry = {ENQUIRY}
enquiry["message"] += str(uuid.uuid4())  # a new submission each run
response = app(event("/enquiries", method="POST", body=enquiry), None)
assert response["statusCode"] == 202, response
"""
)

MINIMAL_APP = """
import json
import os
import uuid

import boto3
from chalice import Chalice

app = Chalice(app_name="minimal")


@app.route("/")
def index():
    item = boto3.client("dynamodb").get_item(
        TableName=os.environ["NLC_CONTENT_TABLE"],
        Key={"pk": {"S": "path#/what-we-do/"}, "sk": {"S": "-"}},
    )
    return {"found": "Item" in item}


@app.route("/enquiries", methods=["POST"])
def enquiry():
    # What the form post does, by hand: store in one transaction, then queue it.
    body = app.current_request.json_body
    reference = uuid.uuid4().hex
    boto3.client("dynamodb").transact_write_items(TransactItems=[{"Put": {
        "TableName": os.environ["NLC_SUBMISSIONS_TABLE"],
        "Item": {"pk": {"S": "submission#" + reference}, "sk": {"S": "-"},
                 "fields": {"S": json.dumps(body)}},
        "ConditionExpression": "attribute_not_exists(pk)"}}])
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["NLC_DELIVERY_QUEUE"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=reference)
    return {"reference": reference}
"""

MINIMAL_READ = (
    EVENT
    + """
from minimal_app import app
response = app(event("/"), None)
assert response["statusCode"] == 200, response
"""
)

MINIMAL_FORM = (
    EVENT
    + f"""
from minimal_app import app
response = app(event("/enquiries", method="POST", body={ENQUIRY}), None)
assert response["statusCode"] == 200, response
"""
)


# The last line each script prints: when the handler answered, on the
# system-wide monotonic clock the parent reads too.
ANSWERED = "\nimport time\nprint('answered at', time.monotonic())\n"


def _time(script: str, cwd: Path) -> float:
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script) + ANSWERED],
        cwd=cwd,
        check=True,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
    )
    answered = float(run.stdout.rsplit("answered at", 1)[1])
    return answered - started


def _compare(ours: str, minimal: str, minimal_dir: Path) -> tuple[float, float]:
    """Median milliseconds of each, interleaved, after one warming run each."""
    _time(ours, PROJECT_DIR)  # warm the OS file cache and .pyc files for both
    _time(minimal, minimal_dir)
    ours_runs, minimal_runs = [], []
    for _ in range(RUNS):
        ours_runs.append(_time(ours, PROJECT_DIR))
        minimal_runs.append(_time(minimal, minimal_dir))
    return statistics.median(ours_runs) * 1000, statistics.median(minimal_runs) * 1000


def run() -> list[tuple[str, str]]:
    start(PROJECT_DIR / "content")
    settings = get_settings()
    os.environ.update(
        {
            "NLC_CONTENT_TABLE": settings.content_table,
            "NLC_SUBMISSIONS_TABLE": settings.submissions_table,
            "NLC_DELIVERY_QUEUE": settings.delivery_queue,
        }
    )
    figures = []
    with tempfile.TemporaryDirectory() as folder:
        minimal_dir = Path(folder)
        (minimal_dir / "minimal_app.py").write_text(MINIMAL_APP)
        for what, ours, minimal, calls, bar in (
            ("serving /content?path=/what-we-do/", OURS_READ, MINIMAL_READ, "one GetItem", "1.2"),
            (
                "accepting an enquiry (POST /enquiries)",
                OURS_FORM,
                MINIMAL_FORM,
                "TransactWriteItems, GetQueueUrl, SendMessage",
                "1.3",
            ),
        ):
            ours_ms, minimal_ms = _compare(ours, minimal, minimal_dir)
            figures += [
                (
                    f"cold start, minimal Chalice app + boto3 + {calls} (median of {RUNS})",
                    f"{minimal_ms:.0f} ms",
                ),
                (f"cold start, this app {what} (median of {RUNS})", f"{ours_ms:.0f} ms"),
                (f"ratio (bar: {bar}x at most)", f"{ours_ms / minimal_ms:.2f}x"),
            ]
    return figures


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
