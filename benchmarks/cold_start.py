"""Cold start: a fresh Python process that imports `app` and serves one page,
against a minimal Chalice app that imports boto3 and makes one DynamoDB call.

Both run as Lambda runs them (the handler called with an API Gateway event)
in new processes, against the same emulator on loopback, interleaved so that
machine noise falls on both alike. Reported: median wall time of the process.
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

RUNS = 15

EVENT = """
def event(path, query=None):
    return {
        "resource": path, "path": path, "httpMethod": "GET",
        "headers": {"Host": "localhost"}, "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
        "requestContext": {"resourcePath": path, "httpMethod": "GET", "stage": "api",
                           "identity": {"sourceIp": "127.0.0.1"}},
    }
"""

OURS = (
    EVENT
    + """
from app import app
response = app(event("/content", {"path": "/what-we-do/"}), None)
assert response["statusCode"] == 200, response
"""
)

MINIMAL_APP = """
import os
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
"""

MINIMAL = (
    EVENT
    + """
from minimal_app import app
response = app(event("/"), None)
assert response["statusCode"] == 200, response
"""
)


def _time(script: str, cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=cwd, check=True, env=os.environ.copy()
    )
    return time.perf_counter() - started


def run() -> list[tuple[str, str]]:
    start(PROJECT_DIR / "content")
    os.environ.update({"NLC_CONTENT_TABLE": get_settings().content_table})
    with tempfile.TemporaryDirectory() as folder:
        minimal_dir = Path(folder)
        (minimal_dir / "minimal_app.py").write_text(MINIMAL_APP)
        _time(OURS, PROJECT_DIR)  # warm the OS file cache and .pyc files for both
        _time(MINIMAL, minimal_dir)
        ours, minimal = [], []
        for _ in range(RUNS):
            ours.append(_time(OURS, PROJECT_DIR))
            minimal.append(_time(MINIMAL, minimal_dir))
    ours_ms, minimal_ms = statistics.median(ours) * 1000, statistics.median(minimal) * 1000
    return [
        (
            f"cold start, minimal Chalice app + boto3 + one GetItem (median of {RUNS})",
            f"{minimal_ms:.0f} ms",
        ),
        (
            f"cold start, this app serving /content?path=/what-we-do/ (median of {RUNS})",
            f"{ours_ms:.0f} ms",
        ),
        ("ratio (bar: 1.2x at most)", f"{ours_ms / minimal_ms:.2f}x"),
    ]


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
