"""Sending a stored submission: its team's copy, then the visitor's
acknowledgement, under a claim so that only one sender ever sends it.

Whoever sends a submission first claims it with a conditional write, so a
request and a retry run, or two retry runs, never both send it. Each claim
is taken with the time at which it is written. A failed send is recorded
with its next attempt from the retry policy; a permanent refusal, or the
last attempt, makes the submission `failed`.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from .. import aws, clock, observability
from ..settings import get_settings
from ..tables import submissions_table
from . import emails, ses
from .policy import POLICY
from .submission import FAILED, FORWARDED, RECEIVED, Submission, iso


def deliver(submission: Submission, claim: str) -> str:
    """Send a claimed submission to its team, then acknowledge it to the
    visitor; record the outcome and release the claim. Returns the status.

    The acknowledgement is sent once, after the team's copy: if it fails, the
    visitor still has the reference on screen and the team can reply.
    """
    try:
        ses.send(emails.team_copy(submission))
    except ses.SendFailed as failure:
        return _record_failed_attempt(submission, claim, failure)
    changes: dict[str, Any] = {"status": FORWARDED, "forwarded_at": iso(clock.now()), "last_error": None}
    if get_settings().send_acknowledgements and submission.acknowledged_at is None:
        try:
            ses.send(emails.acknowledgement(submission))
            changes["acknowledged_at"] = iso(clock.now())
        except ses.SendFailed as failure:
            observability.submission_event(
                "acknowledgement_failed", submission.reference, FORWARDED, error=failure.code
            )
    _release(submission, claim, changes, "forwarded")
    return FORWARDED


def _record_failed_attempt(submission: Submission, claim: str, failure: ses.SendFailed) -> str:
    """The one place a failed send to the team is recorded and logged."""
    attempts = submission.attempts + 1
    gave_up = failure.permanent or POLICY.gives_up(attempts)
    status = FAILED if gave_up else RECEIVED
    changes: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": failure.code}
    if not gave_up:
        changes["next_attempt_at"] = POLICY.next_attempt_at(attempts, clock.now())
    _release(submission, claim, changes, "send_failed", error=failure.code, attempts=attempts)
    if gave_up:
        observability.count_failed_forward(submission.type)
    return status


def _release(submission: Submission, claim: str, changes: dict[str, Any], event: str, **log: Any) -> None:
    """Write a delivery's outcome and drop the claim, if this sender still
    holds it, then log the event. A failure to write is logged, not raised:
    the claim then expires and the retry run picks the submission up."""
    try:
        submissions_table.release(submission.reference, claim, changes)
    except aws.errors() as error:
        observability.submission_event(
            f"{event}.not_recorded",
            submission.reference,
            changes["status"],
            error=aws.error_code(error),
            **log,
        )
        return
    for name, value in changes.items():
        if name in Submission.__dataclass_fields__:
            setattr(submission, name, value)
    observability.submission_event(event, submission.reference, changes["status"], **log)


def claim(reference: str, statuses: tuple[str, ...], *, due_only: bool) -> tuple[Submission, str] | dict:
    """Claim a submission for sending, at this moment: it and the claim, or
    the item as it stands if it cannot be claimed (empty if none)."""
    token = secrets.token_hex(16)
    now = clock.now()
    claimed = submissions_table.claim(
        reference,
        claim=token,
        now=int(now),
        expires_at=POLICY.claim_expires_at(now),
        statuses=statuses,
        due_only=due_only,
    )
    return (claimed, token) if isinstance(claimed, Submission) else claimed


# The retry run --------------------------------------------------------------------


@dataclass
class RetryReport:
    forwarded: list[str] = field(default_factory=list)
    will_retry: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.forwarded)} forwarded, {len(self.will_retry)} to try again later, "
            f"{len(self.failed)} failed for good, {len(self.skipped)} being sent elsewhere (skipped)."
        )


def retry_pending(*, ignore_backoff: bool = False) -> RetryReport:
    """Send every submission still `received` whose next attempt is due (or
    all of them, with ignore_backoff). Each is claimed before it is sent:
    one that another run or request holds is skipped, never sent twice."""
    report = RetryReport()
    for item in submissions_table.with_status(RECEIVED):
        if not ignore_backoff and submissions_table.next_attempt_at(item) > clock.now():
            continue
        reference = item["reference"]["S"]
        try:
            claimed = claim(reference, (RECEIVED,), due_only=not ignore_backoff)
        except aws.errors() as error:
            observability.submission_event("claim_failed", reference, RECEIVED, error=aws.error_code(error))
            continue
        if isinstance(claimed, dict):
            report.skipped.append(reference)
            continue
        status = deliver(*claimed)
        {FORWARDED: report.forwarded, RECEIVED: report.will_retry, FAILED: report.failed}[status].append(
            reference
        )
    return report
