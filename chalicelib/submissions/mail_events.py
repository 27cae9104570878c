"""What SES says became of the emails sent, recorded on their submission.

SES sends each message's send, delivery, bounce and complaint through the
stage's configuration set to EventBridge, where `ses_events` hands it here.
The message is found by its tags (ses.py), or by the id SES gave it when it
was sent. SES's Send event says it took the message: a team copy is then
forwarded, an acknowledgement acknowledged, whatever became of its sender. A bounced team copy
means the team never got the submission: it becomes `failed`, counted as a
failed forward, for staff to see and retry (a restricted one stays
restricted). What becomes of the acknowledgement is recorded only: the
visitor's address is theirs to mend.

EventBridge may hand events over out of order: each is recorded by SES's
own time of it, and one older than what is recorded changes nothing. An
event about a submission erased since is logged and ignored.
"""

from __future__ import annotations

from .. import aws, observability
from ..tables import submissions_table
from .ses import COPY_TAG, REFERENCE_TAG
from .submission import FAILED, FORWARDED, RESTRICTED, TEAM

# EventBridge's detail-types for SES's events, what each records, and the
# key of the detail that holds the event's own time.
OUTCOMES = {
    "Email Sent": ("sent", "send"),
    "Email Delivered": ("delivered", "delivery"),
    "Email Bounced": ("bounced", "bounce"),
    "Email Complaint Received": ("complained", "complaint"),
}


def record(detail_type: str, detail: dict) -> str | None:
    """Record one SES event on its submission; the outcome recorded, or None
    for an event about no message of ours. AWS errors propagate, so that
    EventBridge delivers the event again."""
    outcome, event_key = OUTCOMES.get(detail_type, (None, ""))
    mail = detail.get("mail", {})
    message_id = mail.get("messageId")
    if outcome is None or not message_id:
        observability.submission_event("mail_event_ignored", "-", "-", detail_type=detail_type)
        return None
    if outcome == "bounced":
        outcome = f"bounced ({detail.get('bounce', {}).get('bounceType', 'Undetermined')})"
    tags = mail.get("tags", {})
    tagged = [tags.get(name, [None])[0] for name in (REFERENCE_TAG, COPY_TAG)]
    sent = (tagged[0], tagged[1]) if all(tagged) else submissions_table.message(message_id)
    if sent is None:
        observability.submission_event("mail_event_unmatched", "-", "-", detail_type=detail_type)
        return None
    reference, copy = sent
    at = str(detail.get(event_key, {}).get("timestamp") or mail.get("timestamp") or "")
    fails = copy == TEAM and outcome.startswith("bounced")
    status = FAILED if fails else FORWARDED if (copy, outcome) == (TEAM, "sent") else None
    try:
        recorded = submissions_table.record_mail(
            reference,
            copy,
            outcome,
            at=at,
            status=status,
            as_error=fails,
            restricted=RESTRICTED,
            sent=message_id if outcome == "sent" else None,
        )
    except aws.errors() as error:
        observability.submission_event("mail_event.not_recorded", reference, "-", error=aws.describe(error))
        raise
    if not isinstance(recorded, submissions_table.Recorded):
        event = "mail_event_outdated" if recorded else "mail_event_for_no_submission"
        observability.submission_event(event, reference, "-", detail_type=detail_type)
        return None
    row = recorded.row
    observability.submission_event(f"{copy}_{outcome.split()[0]}", reference, row["status"])
    if fails and row["status"] == FAILED:
        observability.count_failed_forward(row["type"])
    return outcome
