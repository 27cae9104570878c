"""What SES says became of the emails sent, recorded on their submission.

SES sends each message's delivery, bounce and complaint through the stage's
configuration set to EventBridge, where `ses_events` hands it here. The
message is found by the id SES gave it when it was sent. A bounced team copy
means the team never got the submission: it becomes `failed`, counted as a
failed forward, for staff to see and retry. What becomes of the
acknowledgement is recorded only: the visitor's address is theirs to mend.
"""

from __future__ import annotations

from .. import aws, observability
from ..tables import submissions_table
from .submission import FAILED, TEAM

# EventBridge's detail-types for SES's events, and what each records.
OUTCOMES = {
    "Email Delivered": "delivered",
    "Email Bounced": "bounced",
    "Email Complaint Received": "complained",
}


def record(detail_type: str, detail: dict) -> str | None:
    """Record one SES event on its submission; the outcome recorded, or None
    for an event about no message of ours. AWS errors propagate, so that
    EventBridge delivers the event again."""
    outcome = OUTCOMES.get(detail_type)
    message_id = detail.get("mail", {}).get("messageId")
    if outcome is None or not message_id:
        observability.submission_event("mail_event_ignored", "-", "-", detail_type=detail_type)
        return None
    if outcome == "bounced":
        outcome = f"bounced ({detail.get('bounce', {}).get('bounceType', 'Undetermined')})"
    sent = submissions_table.message(message_id)
    if sent is None:
        observability.submission_event("mail_event_unmatched", "-", "-", detail_type=detail_type)
        return None
    reference, copy = sent
    fails = copy == TEAM and outcome.startswith("bounced")
    try:
        row = submissions_table.record_mail(reference, copy, outcome, failed=FAILED if fails else None)
    except aws.errors() as error:
        observability.submission_event("mail_event.not_recorded", reference, "-", error=aws.describe(error))
        raise
    observability.submission_event(f"{copy}_{outcome.split()[0]}", reference, row["status"])
    if fails:
        observability.count_failed_forward(row["type"])
    return outcome
