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
from typing import Any, TextIO

from .settings import get_settings

METRICS_NAMESPACE = "NLC/API"
FAILED_FORWARDS = "FailedForwards"


# Where the lines go when not stdout: the nlc-api command sends them to
# stderr, keeping stdout for its results.
stream: TextIO | None = None


def emit(record: dict[str, Any]) -> None:
    out = stream or sys.stdout
    out.write(json.dumps(record, separators=(",", ":")) + "\n")
    out.flush()


def submission_event(event: str, reference: str, status: str, **extra: Any) -> None:
    """One line per step of a submission: reference, status and AWS error
    codes only, never what the visitor entered."""
    emit({"type": "submission", "event": event, "reference": reference, "status": status, **extra})


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
