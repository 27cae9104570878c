"""The one place AWS clients are made: lazily, once per process.

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


@functools.cache
def _session() -> Any:
    # One session: it caches the service models that each client loads.
    import boto3

    return boto3.session.Session()


@functools.cache
def client(service: str) -> Any:
    from botocore.config import Config

    return _session().client(service, config=Config(**_CLIENT_CONFIG))


def dynamodb() -> Any:
    return client("dynamodb")


def s3() -> Any:
    return client("s3")


def ses() -> Any:
    return client("sesv2")


def error_code(error: Exception) -> str:
    """AWS's error code (ThrottlingException, 404...), or the exception's
    class name for a failure that never reached AWS."""
    return getattr(error, "response", {}).get("Error", {}).get("Code") or type(error).__name__


def reset_clients() -> None:
    """Forget cached clients (tests start a fresh moto backend each time)."""
    client.cache_clear()
