"""What SES says became of each email, as EventBridge brings it to
`ses_events`: recorded on the submission, the team's copy and the
acknowledgement apart; a bounced team copy makes the submission `failed`."""

from __future__ import annotations

import json

import pytest
from conftest import ENQUIRY, JSON, body, stored_submissions, submissions_table_items

from nlc_tools import cli


@pytest.fixture
def delivered(client, worker, outbox) -> str:
    """An enquiry sent to its team and acknowledged; its reference."""
    response = client.http.post("/enquiries", headers=JSON, body=json.dumps(ENQUIRY))
    reference = body(response)["reference"]
    assert worker() == [reference]
    assert len(outbox) == 2
    return reference


def message_ids(reference: str) -> dict[str, str]:
    (item,) = [item for item in submissions_table_items() if item["pk"]["S"] == f"submission#{reference}"]
    return {copy: item[f"{copy}_message_id"]["S"] for copy in ("team", "acknowledgement")}


def ses_event(client, detail_type: str, message_id: str, **detail) -> None:
    """An SES event as EventBridge delivers it (SES's own shape, trimmed)."""
    mail = {
        "timestamp": "2026-11-26T07:00:00.000Z",
        "source": "no-reply@local.nationalleadership.gov.uk",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": ["nlc@cabinetoffice.gov.uk"],
        "tags": {"ses:configuration-set": ["nlc-local-mail"]},
    }
    event_type = {"Email Delivered": "Delivery", "Email Bounced": "Bounce"}.get(detail_type, "Complaint")
    event = client.events.generate_cw_event(
        source="aws.ses",
        detail_type=detail_type,
        detail={"eventType": event_type, "mail": mail, **detail},
        resources=[],
    )
    client.lambda_.invoke("ses_events", event)


BOUNCE = {
    "bounce": {
        "feedbackId": "0102",
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [{"emailAddress": "nlc@cabinetoffice.gov.uk", "status": "5.1.1"}],
        "timestamp": "2026-11-26T07:00:01.000Z",
    }
}


def test_each_message_id_is_kept_and_deliveries_are_recorded_per_copy(client, delivered):
    ids = message_ids(delivered)
    assert ids["team"] != ids["acknowledgement"]
    ses_event(client, "Email Delivered", ids["team"], delivery={"recipients": ["nlc@cabinetoffice.gov.uk"]})
    stored = stored_submissions()[delivered]
    assert (stored["status"], stored["team_mail"], stored["acknowledgement_mail"]) == (
        "forwarded",
        "delivered",
        None,
    )
    ses_event(client, "Email Complaint Received", ids["acknowledgement"], complaint={"feedbackId": "1"})
    assert stored_submissions()[delivered]["acknowledgement_mail"] == "complained"


def test_a_bounced_team_copy_fails_the_submission_counted_and_listed(client, delivered, capsys):
    capsys.readouterr()
    ses_event(client, "Email Bounced", message_ids(delivered)["team"], **BOUNCE)

    stored = stored_submissions()[delivered]
    assert (stored["status"], stored["team_mail"]) == ("failed", "bounced (Permanent)")
    assert stored["last_error"] == "bounced (Permanent)"
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("FailedForwards") == 1 for line in logged)
    listed = cli.run(["submissions", "--stage", "local", "--status", "failed"])
    assert delivered in listed


def test_a_bounced_acknowledgement_is_recorded_only(client, delivered):
    ses_event(client, "Email Bounced", message_ids(delivered)["acknowledgement"], **BOUNCE)
    stored = stored_submissions()[delivered]
    assert (stored["status"], stored["acknowledgement_mail"], stored["team_mail"]) == (
        "forwarded",
        "bounced (Permanent)",
        None,
    )


def test_an_event_for_a_message_not_ours_changes_nothing(client, delivered):
    before = stored_submissions()
    ses_event(client, "Email Bounced", "0100-not-ours", **BOUNCE)
    assert stored_submissions() == before
