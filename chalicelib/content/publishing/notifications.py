"""Telling others that a publish changed the site: an EventBridge event on
the default bus, and the stage's build hook if it names one.

Both come after the publish has succeeded and neither can undo or fail it:
an error is logged and counted (NLC/API PublishNoticesFailed), and the build
hook's retries are bounded (HOOK_TRIES tries of at most HOOK_TIMEOUT_SECONDS,
HOOK_WAITS_SECONDS apart), so a publish waits on it at most a few seconds.

The build hook is signed as the Standard Webhooks specification says
(standardwebhooks.com): the notice's id, the time of the try and the body
signed together, so a receiver can refuse a replay. Signed here by hand (a
few lines of HMAC) to keep the Lambda package small; the tests verify with
the specification's own library.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator

from ... import aws, clock, observability
from ...json_text import dumps
from ...settings import get_settings

SOURCE = "nlc.content"
DETAIL_TYPE = "Content published"
# PutEvents takes at most 10 entries and 256 KB in one request, an entry's
# size being its Source, DetailType and Detail in UTF-8 bytes.
MAX_EVENTS_BYTES = 256 * 1024
MAX_ENTRIES = 10
CHANGES = ("created", "updated", "deleted")

HOOK_TRIES = 3
HOOK_TIMEOUT_SECONDS = 2.0
HOOK_WAITS_SECONDS = (0.5, 1.0)  # between tries
# The specification's form of a secret: this prefix, then the key in base64.
SECRET_PREFIX = "whsec_"


def announce(
    created: list[str], updated: list[str], deleted: list[str], *, release: str, published_at: str
) -> None:
    """Announce a publish that changed something, naming the release it made
    live and when (two publishes with the same changes differ by these);
    never raises."""
    if not (created or updated or deleted):
        return
    detail = {
        "stage": get_settings().stage,
        "release": release,
        "published_at": published_at,
        "created": created,
        "updated": updated,
        "deleted": deleted,
    }
    try:
        _put_events(detail)
    except aws.errors() as error:
        failed("event", aws.describe(error))
    url = get_settings().publish_webhook_url
    if url:
        _call_hook(url, detail)


# EventBridge ---------------------------------------------------------------------


def _entry_bytes(detail: dict) -> int:
    return len(SOURCE.encode()) + len(DETAIL_TYPE.encode()) + len(dumps(detail).encode())


def event_details(detail: dict) -> Iterator[dict]:
    """The detail, its paths split over as many events as keep each within
    PutEvents' limit; each event has every key, each path is in one event."""
    empty = {key: ([] if key in CHANGES else value) for key, value in detail.items()}
    part = {**empty, **{key: [] for key in CHANGES}}
    size = _entry_bytes(part)
    for key in CHANGES:
        for path in detail[key]:
            # The path, its quotes and a comma: at most this much bigger.
            grows = len(dumps(path).encode()) + 1
            if size + grows > MAX_EVENTS_BYTES and any(part[name] for name in CHANGES):
                yield part
                part = {**empty, **{name: [] for name in CHANGES}}
                size = _entry_bytes(part)
            part[key].append(path)
            size += grows
    yield part


def _put_events(detail: dict) -> None:
    events = aws.client("events")
    batch: list[dict] = []
    batch_bytes = 0

    def send(entries: list[dict]) -> None:
        answer = events.put_events(Entries=entries)
        if answer.get("FailedEntryCount"):
            codes = sorted({entry["ErrorCode"] for entry in answer["Entries"] if entry.get("ErrorCode")})
            failed("event", ", ".join(codes))

    for part in event_details(detail):
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": dumps(part)}
        size = _entry_bytes(part)
        if batch and (len(batch) == MAX_ENTRIES or batch_bytes + size > MAX_EVENTS_BYTES):
            send(batch)
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    send(batch)


# The build hook ------------------------------------------------------------------


def signature(key: bytes, notice_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: v1, and the HMAC-SHA256 of
    "id.timestamp.body" in base64."""
    signed = f"{notice_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _hook_key() -> bytes | None:
    name = get_settings().publish_webhook_secret_parameter
    if not name:
        failed("webhook", "NLC_PUBLISH_WEBHOOK_SECRET_PARAMETER names no key to sign with")
        return None
    try:
        answer = aws.client("ssm").get_parameter(Name=name, WithDecryption=True)
    except aws.errors() as error:
        failed("webhook", aws.describe(error))
        return None
    secret = str(answer["Parameter"]["Value"])
    try:
        if not secret.startswith(SECRET_PREFIX):
            raise ValueError
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (ValueError, binascii.Error):
        failed("webhook", f"the key in {name} is not in the form {SECRET_PREFIX}<base64>")
        return None


def _call_hook(url: str, detail: dict) -> None:
    key = _hook_key()
    if key is None:
        return
    body = dumps(detail).encode()
    # One id per notice, the same on every try, so a receiver does it once.
    notice_id = "msg_" + secrets.token_hex(16)
    problem = ""
    for attempt in range(HOOK_TRIES):
        if attempt:
            clock.sleep(HOOK_WAITS_SECONDS[attempt - 1])
        timestamp = int(clock.now())
        headers = {
            "Content-Type": "application/json",
            "webhook-id": notice_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(key, notice_id, timestamp, body),
        }
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=HOOK_TIMEOUT_SECONDS) as answer:
                answer.read()
            return
        except urllib.error.HTTPError as error:
            problem = f"HTTP {error.code}"
            # The hook refused this request: sending it again changes nothing.
            if error.code < 500 and error.code not in (408, 429):
                break
        except (OSError, ValueError) as error:  # URLError, timeouts, a malformed URL
            problem = type(error).__name__
            if isinstance(error, ValueError):
                break
    failed("webhook", problem)


def failed(kind: str, problem: str) -> None:
    """Log and count one notice a publish could not give."""
    observability.emit({"type": "content", "event": f"publish {kind} failed", "problem": problem})
    observability.count_publish_notice_failed(kind)
