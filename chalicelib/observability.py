"""What the API tells CloudWatch: one JSON line per request, and a count of
submissions that could not be forwarded.

Both are single JSON lines on stdout. Lambda sends stdout to CloudWatch Logs,
where Logs Insights reads the fields, and lines in the embedded metric format
become metrics by themselves: no CloudWatch call on the request's path and no
extra IAM permission. Nothing a visitor typed is ever written here.
"""
from __future__ import annotations

import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from chalice.app import Request, Response

from .settings import get_settings

METRICS_NAMESPACE = "NLC/API"
FAILED_FORWARDS = "FailedForwards"
# Responses that can carry a reference are small; content pages are not read.
_REFERENCE_BODY_LIMIT = 2048


def emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def log_request(request: Request, response: Response | None, started: float) -> None:
    """The request line: which route (its template, never the URL or query),
    the status, how long it took, and the submission reference if any."""
    context = request.context or {}
    record: dict[str, Any] = {
        "type": "request",
        "method": request.method,
        "route": context.get("resourcePath"),
        "status": response.status_code if response is not None else 500,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "request_id": context.get("requestId"),
    }
    reference = _reference(request, response)
    if reference:
        record["reference"] = reference
    emit(record)


def _reference(request: Request, response: Response | None) -> str | None:
    reference = (request.uri_params or {}).get("reference")
    if reference or response is None or request.method != "POST":
        return reference
    location = response.headers.get("Location")
    if location:
        return parse_qs(urlsplit(location).query).get("reference", [None])[0]
    body = response.body
    if isinstance(body, str) and body.startswith("{") and len(body) <= _REFERENCE_BODY_LIMIT:
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and isinstance(body.get("reference"), str):
        return body["reference"]
    return None


def count_failed_forward(kind: str) -> None:
    """Count one submission that could not be forwarded to its team, after
    every retry: the metric an alarm watches (NLC/API FailedForwards, by
    Stage). `kind` is kept in the log line for Logs Insights."""
    stage = get_settings().stage
    emit(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": METRICS_NAMESPACE,
                        "Dimensions": [["Stage"]],
                        "Metrics": [{"Name": FAILED_FORWARDS, "Unit": "Count"}],
                    }
                ],
            },
            "Stage": stage,
            "kind": kind,
            FAILED_FORWARDS: 1,
        }
    )
