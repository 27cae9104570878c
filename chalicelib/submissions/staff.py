"""What staff do by hand: list submissions by status, and send one now."""

from __future__ import annotations

from .. import aws, observability
from ..errors import InvalidRequest
from ..tables import submissions_table
from . import delivery
from .errors import AlreadyForwarded, BeingSent, Restricted, SubmissionNotFound, TableUnavailable
from .submission import FAILED, FORWARDED, RECEIVED, RESTRICTED, SPAM, STATUSES, Submission, is_reference


def table_unavailable(error: Exception) -> TableUnavailable:
    observability.submission_event("storage_unavailable", "-", "-", error=aws.error_code(error))
    return TableUnavailable()


def retry_submission(reference: str) -> dict:
    """Send one submission now: one still pending, one that failed for
    good, or one taken for spam. Returns it as list_submissions does; a
    forwarded one is never sent again."""
    if not is_reference(reference):
        raise SubmissionNotFound(reference)
    try:
        claimed = delivery.claim(reference, (RECEIVED, FAILED, SPAM), due_only=False)
    except aws.errors() as error:
        raise table_unavailable(error) from None
    if isinstance(claimed, dict):
        if not claimed:
            raise SubmissionNotFound(reference)
        if submissions_table.status_of(claimed) == FORWARDED:
            raise AlreadyForwarded(reference)
        if submissions_table.status_of(claimed) == RESTRICTED:
            raise Restricted(reference)
        raise BeingSent(reference)
    submission, claim = claimed
    delivery.deliver(submission, claim)
    return submission.view()


def list_submissions(status: str) -> list[dict]:
    """Every submission with a status, oldest first, as staff see them."""
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.")
    try:
        return [Submission(**listed.row).view() for listed in submissions_table.with_status(status)]
    except aws.errors() as error:
        raise table_unavailable(error) from None
