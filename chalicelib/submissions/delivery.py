"""Sending a stored submission, outside any visitor's request: the visitor's
acknowledgement and the team's copy, under a claim so that only one sender
ever sends it.

The API puts each stored submission's reference on the delivery queue; its
worker sends it at once. The retry run, every 5 minutes, sends whatever is
still `received` and due: what the queue missed, and what failed before.

Whoever sends a submission first claims it with a conditional write, so the
worker, a retry run and staff never both send it. A claim is taken with the
time at which it is written, and a sender checks it still holds the claim
right before each send: one whose claim has lapsed (or would lapse before
SES can answer) sends nothing more, since another sender may hold it now.

The acknowledgement is its own step, first, so the visitor hears that their
request was received whatever becomes of the team's copy. It is sent at
most once: only by the sender whose claim marked it (`acknowledged_by`), and
the mark is dropped only when SES certainly did not send it, or passes on
when that sender's claim lapsed. The team's copy is sent at least once: an
attempt whose outcome is unknown is tried again.

A sender may die (or fail to record its outcome) after SES took an email.
Every email is tagged with its reference, and SES's Send event, which it
emits once it has taken a message, records it through `ses_events`
(mail_events.py): the submission is forwarded, or acknowledged, before the
sender's claim lapses, so whoever claims it next sends neither again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .. import aws, clock, observability
from ..settings import get_settings
from ..tables import submissions_table
from . import emails, ses
from .errors import TableUnavailable
from .policy import POLICY
from .submission import (
    ACKNOWLEDGEMENT,
    FAILED,
    FORWARDED,
    RECEIVED,
    RESTRICTED,
    TEAM,
    Submission,
    is_reference,
    iso,
)

# What the scheduled run may spend, its function's timeout (.chalice/config.json):
# `nlc-api retry` keeps to it too.
RUN_SECONDS = 240
# The longest one delivery can take: its claim and release, and two sends.
DELIVERY_SECONDS = 2 * aws.CALL_SECONDS + 2 * aws.SES_CALL_SECONDS


@dataclass(frozen=True)
class Claim:
    token: str
    expires_at: int

    def held(self) -> bool:
        """Whether a send started now ends, even at SES's timeout, before
        the claim lapses and another sender may take it."""
        return clock.now() + aws.SES_CALL_SECONDS < self.expires_at


def deliver(submission: Submission, claim: Claim) -> str:
    """Acknowledge a claimed submission to the visitor, if this sender is
    the one to, and send it to its team; record the outcome and release the
    claim. Returns the status."""
    changes: dict[str, Any] = {}
    if submission.acknowledged_by == claim.token and submission.acknowledged_at is None:
        if not _may_send(submission, claim):
            changes["acknowledged_by"] = None  # not sent: the next sender may
            return _stop(submission, claim, changes)
        acknowledged, refused = _acknowledge(submission)
        changes.update(acknowledged)
        if refused is not None:
            # SES said "not now": this attempt ends, and the next sends both, the visitor's first.
            return _record_failed_attempt(submission, claim, refused, changes)
    if not _may_send(submission, claim):
        return _stop(submission, claim, changes)
    try:
        message_id = ses.send(emails.team_copy(submission), reference=submission.reference, copy=TEAM)
    except ses.SendFailed as failure:
        return _record_failed_attempt(submission, claim, failure, changes)
    _remember(message_id, submission, TEAM)
    changes.update(
        {
            "status": FORWARDED,
            "forwarded_at": iso(clock.now()),
            "last_error": None,
            "team_message_id": message_id,
        }
    )
    _release(submission, claim, changes, "forwarded")
    return FORWARDED


def _may_send(submission: Submission, claim: Claim) -> bool:
    """Whether this sender may send now: its claim outlasts SES's longest
    answer, and the table, read right before the send, still has the
    submission claimed by it (a restriction or an erasure drops the claim)."""
    if not claim.held():
        return False
    try:
        return submissions_table.holds(submission.reference, claim.token)
    except aws.errors() as error:
        observability.submission_event(
            "claim_unchecked", submission.reference, submission.status, error=aws.describe(error)
        )
        return False


def _stop(submission: Submission, claim: Claim, changes: dict[str, Any]) -> str:
    """End a delivery before a send it may not make; record what was done."""
    _release(submission, claim, changes, "claim_lapsed" if not claim.held() else "claim_lost")
    return submission.status


def _acknowledge(submission: Submission) -> tuple[dict[str, Any], ses.SendFailed | None]:
    """Send the acknowledgement; the changes that record it, and SES's
    refusal if it may take it later (throttled, down). A permanent refusal
    is logged and never fails the submission."""
    try:
        message_id = ses.send(
            emails.acknowledgement(submission), reference=submission.reference, copy=ACKNOWLEDGEMENT
        )
    except ses.SendFailed as failure:
        observability.submission_event(
            "acknowledgement_failed", submission.reference, submission.status, error=failure.code
        )
        if failure.unknown:
            return {}, None  # perhaps sent: never again
        # Certainly not sent: the next attempt may.
        return {"acknowledged_by": None}, (None if failure.permanent else failure)
    _remember(message_id, submission, ACKNOWLEDGEMENT)
    return {"acknowledged_at": iso(clock.now()), "acknowledgement_message_id": message_id}, None


def _remember(message_id: str, submission: Submission, copy: str) -> None:
    """Keep which email SES sent as `message_id`, for its delivery events
    (mail_events.py), as long as the submission is kept, and only while it
    is (not after an erasure). A failure to write is logged: that email's
    events then go unrecorded, nothing else."""
    expires_at = int(clock.now()) + get_settings().retention_days * 86400
    try:
        submissions_table.remember_message(message_id, submission.reference, copy, expires_at)
    except aws.errors() as error:
        observability.submission_event(
            f"{copy}_message_id.not_recorded",
            submission.reference,
            submission.status,
            error=aws.describe(error),
        )


def _record_failed_attempt(
    submission: Submission, claim: Claim, failure: ses.SendFailed, changes: dict[str, Any]
) -> str:
    """The one place a failed send to the team is recorded and logged."""
    attempts = submission.attempts + 1
    gave_up = failure.permanent or POLICY.gives_up(attempts)
    status = FAILED if gave_up else RECEIVED
    changes.update({"status": status, "attempts": attempts, "last_error": failure.code})
    if not gave_up:
        changes["next_attempt_at"] = POLICY.next_attempt_at(attempts, clock.now())
    _release(submission, claim, changes, "send_failed", error=failure.code, attempts=attempts)
    if gave_up:
        observability.count_failed_forward(submission.type)
    return status


def _release(submission: Submission, claim: Claim, changes: dict[str, Any], event: str, **log: Any) -> None:
    """Write a delivery's outcome and drop the claim, if this sender still
    holds it, then log the event. A submission restricted meanwhile (which
    dropped the claim) keeps the outcome for its lifting. A failure to
    write is logged, not raised: the claim then expires and the retry run
    picks the submission up; one erased meanwhile keeps nothing."""
    status = changes.get("status", submission.status)
    try:
        submissions_table.release(submission.reference, claim.token, changes)
    except aws.errors() as error:
        if not _kept_under_restriction(submission, changes, error):
            observability.submission_event(
                f"{event}.not_recorded", submission.reference, status, error=aws.describe(error), **log
            )
            return
        event, status = f"{event}.restricted", RESTRICTED
    for name, value in changes.items():
        if name in Submission.__dataclass_fields__:
            setattr(submission, name, value)
    submission.status = status
    observability.submission_event(event, submission.reference, status, **log)


def _kept_under_restriction(submission: Submission, changes: dict[str, Any], error: Exception) -> bool:
    """Record a delivery's outcome on a submission restricted while it was
    sent: lifting gives back the status it reached, so a sent copy is not
    sent again. Whether it was (so restricted)."""
    if aws.error_code(error) != "ConditionalCheckFailedException":
        return False
    try:
        return submissions_table.record_under_restriction(submission.reference, changes, RESTRICTED)
    except aws.errors():
        return False


def claim(reference: str, statuses: tuple[str, ...], *, due_only: bool) -> tuple[Submission, Claim] | dict:
    """Claim a submission for sending, at this moment: it and the claim, or
    the item as it stands if it cannot be claimed (empty if none). A
    restricted one is never claimed: no sender asks for that status."""
    token = secrets.token_hex(16)
    now = clock.now()
    expires_at = POLICY.claim_expires_at(now)
    claimed = submissions_table.claim(
        reference,
        claim=token,
        now=int(now),
        expires_at=expires_at,
        statuses=statuses,
        due_only=due_only,
        acknowledge=get_settings().send_acknowledgements,
    )
    if isinstance(claimed, submissions_table.Claimed):
        return Submission(**claimed.row), Claim(token, expires_at)
    return claimed


# The queue's worker ---------------------------------------------------------------


def deliver_queued(reference: str) -> str | None:
    """The worker's part: send the submission a queue message names, unless
    another sender holds it or it is no longer `received`. Never raises for
    a submission it cannot send: the retry run is there for those."""
    if not is_reference(reference):
        observability.submission_event("not_a_reference", "-", "-")
        return None
    claimed = _claim_or_log(reference, due_only=False)
    return deliver(*claimed) if claimed is not None else None


def _claim_or_log(reference: str, *, due_only: bool) -> tuple[Submission, Claim] | None:
    try:
        claimed = claim(reference, (RECEIVED,), due_only=due_only)
    except aws.errors() as error:
        observability.submission_event("claim_failed", reference, RECEIVED, error=aws.describe(error))
        return None
    if isinstance(claimed, dict):
        observability.submission_event("skipped", reference, submissions_table.status_of(claimed) or "-")
        return None
    return claimed


# The retry run --------------------------------------------------------------------


@dataclass
class RetryReport:
    forwarded: list[str] = field(default_factory=list)
    will_retry: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"{len(self.forwarded)} forwarded, {len(self.will_retry)} to try again later, "
            f"{len(self.failed)} failed for good, {len(self.skipped)} being sent elsewhere (skipped)."
        )
        return text + (f" {len(self.left)} left for the next run (out of time)." if self.left else "")


def retry_pending(*, ignore_backoff: bool = False, seconds: float = RUN_SECONDS) -> RetryReport:
    """Send every submission still `received` whose next attempt is due (or
    all of them, with ignore_backoff), starting no delivery that might not
    end within `seconds`. Each is claimed before it is sent: one that
    another sender holds is skipped, never sent twice. One that cannot be
    claimed or sent is reported and the run goes on; TableUnavailable if
    the list itself cannot be read."""
    deadline = clock.now() + seconds - DELIVERY_SECONDS
    report = RetryReport()
    try:
        items = submissions_table.with_status(RECEIVED)
    except aws.errors() as error:
        observability.submission_event("storage_unavailable", "-", "-", error=aws.describe(error))
        raise TableUnavailable() from None
    for listed in items:
        if not ignore_backoff and listed.next_attempt_at > clock.now():
            continue
        reference = listed.row["reference"]
        if clock.now() > deadline:
            report.left.append(reference)
            continue
        claimed = _claim_or_log(reference, due_only=not ignore_backoff)
        if claimed is None:
            report.skipped.append(reference)
            continue
        status = deliver(*claimed)
        # Restricted or erased while it was being sent: as if another sender had it.
        {FORWARDED: report.forwarded, RECEIVED: report.will_retry, FAILED: report.failed}.get(
            status, report.skipped
        ).append(reference)
    return report
