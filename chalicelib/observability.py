"""What the API tells CloudWatch: one JSON line per request, and counts of
submissions that could not be forwarded, of content sets refused and of the
content checks' findings.

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
CONTENT_REJECTED = "ContentRejected"
CONTENT_WARNINGS = "ContentWarnings"
PUBLISH_NOTICES_FAILED = "PublishNoticesFailed"


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
    _count(FAILED_FORWARDS, 1, kind=kind)


def count_content_rejected(problems: int) -> None:
    """Count one set of sources the indexer refused (NLC/API ContentRejected,
    by Stage): the bucket holds content the API does not serve."""
    _count(CONTENT_REJECTED, 1, problems=problems)


def count_content_warnings(findings: int) -> None:
    """Count the content checks' findings in a set the indexer publishes
    (NLC/API ContentWarnings, by Stage): pages that publish, with
    accessibility or content problems to mend."""
    _count(CONTENT_WARNINGS, findings)


def count_publish_notice_failed(kind: str) -> None:
    """Count one publish that could not be announced (NLC/API
    PublishNoticesFailed, by Stage): `kind` says which: event, webhook or invalidation."""
    _count(PUBLISH_NOTICES_FAILED, 1, kind=kind)


def _count(metric: str, value: int, **fields: Any) -> None:
    """One metric value as an embedded-metric-format log line."""
    emit(
        {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": METRICS_NAMESPACE,
                        "Dimensions": [["Stage"]],
                        "Metrics": [{"Name": metric, "Unit": "Count"}],
                    }
                ],
            },
            "Stage": get_settings().stage,
            **fields,
            metric: value,
        }
    )
