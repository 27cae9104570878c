"""The secret CloudFront sends the API in X-NLC-Origin-Verify: the proof that
a request came through the stage's distribution, so that the visitor's
address CloudFront adds can be believed.

Read from Secrets Manager only when a request carries the header, kept in
the container for CACHE_SECONDS (a rotated secret is picked up within
them), and read again early, at most every RETRY_SECONDS, when a value does
not match it (CloudFront may already send the new one). A secret that
cannot be read matches nothing: logged, never raised.
"""

from __future__ import annotations

import hmac

from . import aws, clock, observability
from .settings import get_settings

# CloudFront sends this header, carrying the stage's secret, with every
# request it makes to the API: only then is its viewer address believed.
# (Here, not in names.py, so that a request's check imports no more.)
ORIGIN_VERIFY_HEADER = "X-NLC-Origin-Verify"
# The visitor's address and port (`198.51.100.7:443`, `[2001:db8::1]:443`
# unbracketed), added by CloudFront when an origin request policy names it.
VIEWER_ADDRESS_HEADER = "CloudFront-Viewer-Address"
CACHE_SECONDS = 300
RETRY_SECONDS = 60

# (the secret, when it was read); None when it could not be read.
_cached: tuple[str | None, float] | None = None


def matches(value: str) -> bool:
    """Whether `value` is the stage's origin secret, compared in constant time."""
    global _cached
    name = get_settings().origin_secret
    if not name:
        return False  # a stage without CloudFront (local)
    now = clock.now()
    age = now - _cached[1] if _cached is not None else None
    if age is None or age >= CACHE_SECONDS or (age >= RETRY_SECONDS and not _equal(_cached, value)):
        _cached = (_read(name), now)
    return _equal(_cached, value)


def _equal(cached: tuple[str | None, float] | None, value: str) -> bool:
    secret = cached[0] if cached is not None else None
    return secret is not None and hmac.compare_digest(secret.encode(), value.encode())


def _read(name: str) -> str | None:
    try:
        return str(aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"])
    except aws.errors() as error:
        observability.emit(
            {"type": "edge", "event": "origin secret unreadable", "problem": aws.describe(error)}
        )
        return None


def forget() -> None:
    """Read the secret again on next use (tests start a fresh AWS each time)."""
    global _cached
    _cached = None
