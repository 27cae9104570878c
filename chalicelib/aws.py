"""The one place AWS clients are made (lazily, once per process) and AWS
errors are sorted.

Endpoints are never configured here: botocore honours the standard
AWS_ENDPOINT_URL variable, so the same code talks to AWS, moto or any
emulator. Clients are created on first use, after moto is active in tests.
"""

from __future__ import annotations

import functools
from typing import Any

_CLIENT_CONFIG: dict[str, Any] = {
    # Fail fast inside a Lambda; botocore's standard mode retries throttling.
    "connect_timeout": 3,
    "read_timeout": 10,
    "retries": {"mode": "standard", "max_attempts": 3},
}
# SES may accept a message whose answer never arrives: a retry by botocore
# would send it again. The delivery's own claimed attempts are the only
# retries. SES has answered in 11-12 s on its slow days: the read timeout
# leaves room for that, and two sends fit well inside the delivery worker's
# time limit (.chalice/config.json), since no visitor waits on them.
_SES_CONFIG: dict[str, Any] = {
    "connect_timeout": 5,
    "read_timeout": 20,
    "retries": {"mode": "standard", "total_max_attempts": 1},
}
# Enqueueing a stored submission, while the visitor waits behind API
# Gateway's 29 s: one short try. A message that did not go is sent by the
# retry run once its grace is over; one that went despite a timeout is
# harmless (a sender claims before sending).
_ENQUEUE_CONFIG: dict[str, Any] = {
    "connect_timeout": 1,
    "read_timeout": 2,
    "retries": {"mode": "standard", "total_max_attempts": 1},
}
ENQUEUE_SECONDS = _ENQUEUE_CONFIG["connect_timeout"] + _ENQUEUE_CONFIG["read_timeout"]
# The longest one SendEmail can take before botocore gives up on it.
SES_CALL_SECONDS = _SES_CONFIG["connect_timeout"] + _SES_CONFIG["read_timeout"]
# The longest one call to DynamoDB or SQS can take, its retries included.
CALL_SECONDS = (_CLIENT_CONFIG["connect_timeout"] + _CLIENT_CONFIG["read_timeout"]) * _CLIENT_CONFIG[
    "retries"
]["max_attempts"]

# Codes that say "not now" rather than "never": throttling and AWS's own faults.
_TRANSIENT_CODES = {
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionConflictException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
}


@functools.cache
def _session() -> Any:
    # One session: it caches the service models that each client loads.
    import boto3

    return boto3.session.Session()


@functools.cache
def client(service: str, *, enqueue: bool = False) -> Any:
    """The service's client; with `enqueue`, SQS's for enqueueing while a
    visitor waits."""
    from botocore.config import Config

    config = _SES_CONFIG if service == "sesv2" else _ENQUEUE_CONFIG if enqueue else _CLIENT_CONFIG
    return _session().client(service, config=Config(**config))


def dynamodb() -> Any:
    return client("dynamodb")


def s3() -> Any:
    return client("s3")


def ses() -> Any:
    return client("sesv2")


def sqs() -> Any:
    return client("sqs")


@functools.cache
def queue_url(name: str, *, enqueue: bool = False) -> str:
    """A queue's URL, asked for once per process (SQS names queues by URL);
    with `enqueue`, by the enqueueing client."""
    return str(client("sqs", enqueue=enqueue).get_queue_url(QueueName=name)["QueueUrl"])


def errors() -> tuple[type[Exception], ...]:
    """Every exception an AWS call raises (imported on first use)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def error_code(error: BaseException) -> str:
    """AWS's error code (ThrottlingException, 404...), or the exception's
    class name for a failure that never reached AWS or got no answer
    (ReadTimeoutError carries no response). Never raises."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(error).__name__


def http_status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


def is_transient(error: BaseException) -> bool:
    """Whether the same call may succeed later: throttling, AWS's 5xx,
    timeouts and lost connections. Anything else (a refusal, a bad
    parameter, a missing resource) will fail the same way again."""
    from botocore.exceptions import ClientError

    if not isinstance(error, ClientError):
        # Timeouts, connection errors, no answer: nothing said no.
        return True
    status = http_status(error) or 0
    return error_code(error) in _TRANSIENT_CODES or status >= 500


def answer_lost(error: BaseException) -> bool:
    """Whether the request left and no answer came back (a read timeout, a
    connection closed mid-answer): whatever AWS did, nobody heard."""
    from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

    return isinstance(error, (ReadTimeoutError, ConnectionClosedError))


def outcome_unknown(error: BaseException) -> bool:
    """Whether AWS may have done what was asked though no answer came back:
    the answer was lost, or AWS failed on its side (5xx: DynamoDB may have
    applied a write it answers 500 to). A connection never made, a refusal
    or throttling are certain: nothing was done. (SES's 5xx are refusals:
    see submissions/ses.py.)"""
    from botocore.exceptions import ClientError

    if answer_lost(error):
        return True
    return isinstance(error, ClientError) and (http_status(error) or 0) >= 500


def describe(error: BaseException, *, unknown: bool | None = None) -> str:
    """The error code as records and logs show it, saying when the outcome
    is unknown (`outcome unknown: ReadTimeoutError`), by `unknown` if the
    caller knows better than outcome_unknown."""
    code = error_code(error)
    unknown = outcome_unknown(error) if unknown is None else unknown
    return f"outcome unknown: {code}" if unknown else code


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh moto backend each time)."""
    client.cache_clear()
    queue_url.cache_clear()
