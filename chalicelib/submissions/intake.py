"""Accepting a submission: validate it, find the document it names, store
it (with both rate limits and its Idempotency-Key, in one transaction) and
hand it to the delivery queue. Nobody waits on SES: the visitor is answered
once the submission is stored, and delivery sends it from the queue.

A transaction whose answer is lost (a timeout, a dropped connection, a 5xx)
may have been applied. It carries a ClientRequestToken made from the
request, and the submission's reference is drawn from that token, so such a
failure is settled by reading the submission back before answering, and the
same request sent again is stored once.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

from .. import aws, clock, observability
from ..errors import InvalidRequest, RateLimited
from ..settings import get_settings
from ..tables import submissions_table
from . import forms
from .errors import IdempotencyKeyReused, NotStored
from .submission import RECEIVED, SPAM, Submission, iso, reference_for

IDEMPOTENCY_SECONDS = 24 * 3600
STORE_ATTEMPTS = 3
# DynamoDB applies a transaction once for the same ClientRequestToken within
# ten minutes: the same request within one such window gets the same token.
REQUEST_WINDOW_SECONDS = 600
# The queue's worker normally sends a submission within seconds; the retry
# run leaves it to the worker this long, then sends it itself.
QUEUE_GRACE_SECONDS = 120
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Receipt:
    reference: str


def submit(kind: str, data: dict, *, client_ip: str, idempotency_key: str | None = None) -> Receipt:
    """Validate, store and queue one submission.

    Bad input raises before any AWS call. Stored, it is a receipt, whatever
    SES or the queue do; NotStored only when it is certainly not stored.
    """
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise InvalidRequest("Idempotency-Key must be 1 to 255 visible ASCII characters, like a UUID.")
    form = forms.check(kind, data)
    settings = get_settings()
    document, recipient = None, settings.enquiries_mailbox
    if kind == forms.ACCESSIBLE_FORMAT_REQUEST:
        # Imported here: the content table it reads is no concern of an enquiry.
        from . import document_lookup

        try:
            document, recipient = document_lookup.resolve(form.needed("document_url"))
        except aws.errors() as error:
            raise _not_stored(error) from None
    now = clock.now()
    request = _request_token(kind, form, client_ip, idempotency_key, now)
    submission = Submission(
        reference=reference_for(request),
        type=kind,
        created_at=iso(now),
        fields=form.fields(),
        recipient=recipient,
        document=document,
        status=SPAM if form.is_spam else RECEIVED,
    )
    request_digest = submissions_table.digest(json.dumps(data, sort_keys=True, ensure_ascii=False))
    reference, stored = _store(submission, request, now, client_ip, idempotency_key, request_digest)
    if not stored:
        observability.submission_event("replayed", reference, "-")
        return Receipt(reference)
    observability.submission_event("stored", reference, submission.status)
    if submission.status == RECEIVED:
        enqueue(reference)
    return Receipt(reference)


def enqueue(reference: str) -> None:
    """Hand a stored submission to the delivery worker, with one short try
    (aws.ENQUEUE_SECONDS) while the visitor waits. A failure is logged,
    never raised: the submission is stored, and the retry run sends it.
    (Here, not in delivery, so that a form post never imports the sending.)"""
    try:
        aws.client("sqs", enqueue=True).send_message(
            QueueUrl=aws.queue_url(get_settings().delivery_queue, enqueue=True), MessageBody=reference
        )
    except aws.errors() as error:
        observability.submission_event("enqueue_failed", reference, RECEIVED, error=aws.describe(error))


def _request_token(
    kind: str, form: forms.Entered, client_ip: str, idempotency_key: str | None, now: float
) -> str:
    """What identifies a request, as 32 hex characters: its form and what was
    entered, who sent it, its Idempotency-Key, and the ten minutes it came in."""
    canonical = json.dumps(
        [kind, form.values, client_ip, idempotency_key, int(now // REQUEST_WINDOW_SECONDS)],
        sort_keys=True,
        ensure_ascii=False,
    )
    return submissions_table.digest(canonical)


def rate_limited_address(email: str) -> str:
    """The mailbox an address delivers to, for counting: `Ada+news@Example.com`
    counts as `ada@example.com` (local parts are case-insensitive in practice,
    and a +tag is a mailbox's own alias). A person's requests about their data
    find their submissions by the same match."""
    local, _, domain = email.casefold().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


# Bumped with any change to rate_limited_address: the backfill then digests
# every stored submission's address again, so none is missed by the new match.
ADDRESS_MATCHING = "1"


def email_digest(email: str) -> submissions_table.EmailDigest:
    """What a submission is found by: its address's digest, the same one its
    rate-limit counter is keyed by."""
    return submissions_table.EmailDigest(
        submissions_table.digest(rate_limited_address(email)), ADDRESS_MATCHING
    )


def _store(
    submission: Submission,
    request: str,
    now: float,
    client_ip: str,
    idempotency_key: str | None,
    request_digest: str,
) -> tuple[str, bool]:
    """Store the submission: its reference, and whether this request stored
    it (False: an earlier request with the same Idempotency-Key, or the same
    request, stored it, and nothing is written).

    Each attempt sends the same transaction with the same token, as DynamoDB
    asks; only a reference that collides with another submission's (40 bits),
    or a token DynamoDB applied before for a submission erased since, draws
    another, with another token."""
    settings = get_settings()
    window = settings.rate_limit_window_seconds
    window_start = int(now // window * window)
    outcome: submissions_table.StoreOutcome | None = None
    token = request
    for attempt in range(STORE_ATTEMPTS):
        try:
            outcome = submissions_table.store(
                asdict(submission),
                request=token,
                now=int(now),
                next_attempt_at=int(now) + QUEUE_GRACE_SECONDS,
                expires_at=int(now) + settings.retention_days * 86400,
                rate_limits=[
                    submissions_table.RateLimit("ip", client_ip, settings.rate_limit_per_ip),
                    submissions_table.RateLimit(
                        "email", rate_limited_address(submission.email), settings.rate_limit_per_email
                    ),
                ],
                window=(window_start, window_start + window),
                idempotency=(
                    (
                        submissions_table.digest(idempotency_key),
                        request_digest,
                        int(now) + IDEMPOTENCY_SECONDS,
                    )
                    if idempotency_key is not None
                    else None
                ),
                email=email_digest(submission.email),
            )
        except aws.errors() as error:
            return _settle(submission, token, error)
        match outcome:
            case submissions_table.Stored():
                return submission.reference, True
            case submissions_table.AlreadyStored(reference=reference):
                return reference, False
            case submissions_table.Replayed(reference=reference, request_digest=earlier_digest):
                if earlier_digest != request_digest:
                    raise IdempotencyKeyReused()
                return reference, False
            case submissions_table.OverLimit():
                raise _rate_limited(submission.type, window_start + window - int(now))
            case submissions_table.TokenSeen():
                try:
                    if submissions_table.stored_by(submission.reference, token):
                        return submission.reference, False  # the same request, stored before
                except aws.errors() as error:
                    raise _not_stored(error) from None
                # Stored before and erased since: store it anew, under another token.
                token = submissions_table.digest(f"{request}#{attempt + 1}")
                submission.reference = reference_for(token)
            case submissions_table.ReferenceTaken():
                token = submissions_table.digest(f"{request}#{attempt + 1}")
                submission.reference = reference_for(token)
    if isinstance(outcome, submissions_table.Contended):
        raise _not_stored(outcome.error)
    # Every token tried was taken (erased again and again within ten minutes).
    raise _not_stored(RuntimeError("no token left to store it under"))


def _settle(submission: Submission, token: str, error: Exception) -> tuple[str, bool]:
    """A transaction that failed may still have been applied if its answer
    was lost: read the submission back. Stored by this request: carry on.
    Not stored, or the read fails too: NotStored."""
    if not aws.outcome_unknown(error):
        raise _not_stored(error) from None
    try:
        stored = submissions_table.stored_by(submission.reference, token)
    except aws.errors() as read_error:
        observability.submission_event(
            "read_back_failed", submission.reference, "-", error=aws.describe(read_error)
        )
        stored = False
    if not stored:
        raise _not_stored(error) from None
    observability.submission_event(
        "read_back", submission.reference, submission.status, error=aws.describe(error)
    )
    return submission.reference, True


def _rate_limited(kind: str, retry_after: int) -> RateLimited:
    settings = get_settings()
    mailbox = settings.enquiries_mailbox if kind == forms.ENQUIRY else settings.accessible_format_mailbox
    minutes = max(1, math.ceil(retry_after / 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return RateLimited(
        f"You have sent too many requests in a short time. Try again in {wait}, "
        f"or email {mailbox} if it cannot wait.",
        retry_after=max(1, retry_after),
    )


def _not_stored(error: Exception) -> NotStored:
    observability.submission_event("storage_unavailable", "-", "-", error=aws.describe(error))
    return NotStored()
