"""Accepting a submission: validate it, find the document it names, and
store it (with both rate limits and its Idempotency-Key, in one
transaction) before anything is sent, so a visitor's request survives an
SES outage. Then the first delivery attempt, under the claim it was stored
with; the retry run sends whatever is still pending.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from dataclasses import dataclass

from .. import aws, clock, observability
from ..errors import InvalidRequest, RateLimited
from ..settings import get_settings
from ..tables import submissions_table
from . import delivery, document_lookup, fields
from .errors import IdempotencyKeyReused, NotStored
from .policy import POLICY
from .submission import RECEIVED, SPAM, Submission, iso, new_reference

IDEMPOTENCY_SECONDS = 24 * 3600
STORE_ATTEMPTS = 3
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Receipt:
    reference: str


def submit(kind: str, data: dict, *, client_ip: str, idempotency_key: str | None = None) -> Receipt:
    """Validate, store and send one submission.

    Bad input raises before any AWS call. Once stored, the visitor's answer
    is a receipt whatever SES does: a failed send is retried later.
    """
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 visible ASCII characters, like a UUID.")
    form = fields.validate(kind, data)
    settings = get_settings()
    document, recipient = None, settings.enquiries_mailbox
    if isinstance(form, fields.AccessibleFormatRequest):
        try:
            document, recipient = document_lookup.resolve(form.document_url)
        except aws.errors() as error:
            raise _not_stored(error) from None
    now = clock.now()
    submission = Submission(
        reference=new_reference(),
        type=kind,
        created_at=iso(now),
        fields=form.fields(),
        recipient=recipient,
        document=document,
        status=SPAM if form.is_spam else RECEIVED,
    )
    claim = secrets.token_hex(16)
    request_digest = submissions_table.digest(json.dumps(data, sort_keys=True, ensure_ascii=False))
    try:
        earlier = _store(submission, claim, client_ip, idempotency_key, request_digest)
    except aws.errors() as error:
        raise _not_stored(error) from None
    if earlier is not None:
        observability.submission_event("replayed", earlier, "-")
        return Receipt(earlier)
    observability.submission_event("stored", submission.reference, submission.status)
    if submission.status == RECEIVED:
        delivery.deliver(submission, claim)
    return Receipt(submission.reference)


def _store(
    submission: Submission, claim: str, client_ip: str, idempotency_key: str | None, request_digest: str
) -> str | None:
    """Store the submission; the reference of the earlier request that used
    the same Idempotency-Key instead, if any (then nothing is written). It
    is stored already claimed by this request, so a retry run leaves it
    alone while it is being sent."""
    settings = get_settings()
    window = settings.rate_limit_window_seconds
    outcome: submissions_table.StoreOutcome | None = None
    for _attempt in range(STORE_ATTEMPTS):
        now = clock.now()
        window_start = int(now // window * window)
        outcome = submissions_table.store(
            submission,
            now=int(now),
            expires_at=int(now) + settings.retention_days * 86400,
            claim=(claim, POLICY.claim_expires_at(now)) if submission.status == RECEIVED else None,
            rate_limits=[
                submissions_table.RateLimit("ip", client_ip, settings.rate_limit_per_ip),
                submissions_table.RateLimit(
                    "email", submission.email.casefold(), settings.rate_limit_per_email
                ),
            ],
            window=(window_start, window_start + window),
            idempotency=(
                (submissions_table.digest(idempotency_key), request_digest, int(now) + IDEMPOTENCY_SECONDS)
                if idempotency_key is not None
                else None
            ),
        )
        match outcome:
            case submissions_table.Stored():
                return None
            case submissions_table.Replayed(reference=reference, request_digest=earlier_digest):
                if earlier_digest != request_digest:
                    raise IdempotencyKeyReused()
                return reference
            case submissions_table.OverLimit():
                raise _rate_limited(submission.type, window_start + window - int(now))
            case submissions_table.ReferenceTaken():
                submission.reference = new_reference()  # 40 bits collided: draw again
    assert isinstance(outcome, submissions_table.Contended)
    raise outcome.error


def _rate_limited(kind: str, retry_after: int) -> RateLimited:
    settings = get_settings()
    mailbox = settings.enquiries_mailbox if kind == fields.ENQUIRY else settings.accessible_format_mailbox
    minutes = max(1, math.ceil(retry_after / 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return RateLimited(
        f"You have sent too many requests in a short time. Try again in {wait}, "
        f"or email {mailbox} if it cannot wait.",
        retry_after=max(1, retry_after),
    )


def _not_stored(error: Exception) -> NotStored:
    observability.submission_event("storage_unavailable", "-", "-", error=aws.error_code(error))
    return NotStored()
