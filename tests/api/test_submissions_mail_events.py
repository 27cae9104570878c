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


def ses_event(client, detail_type: str, message_id: str, tags: dict | None = None, **detail) -> None:
    """An SES event as EventBridge delivers it (SES's own shape, trimmed),
    with the email's own tags, if given, besides SES's."""
    mail = {
        "timestamp": "2026-11-26T07:00:00.000Z",
        "source": "no-reply@local.nationalleadership.gov.uk",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": ["nlc@cabinetoffice.gov.uk"],
        "tags": {"ses:configuration-set": ["nlc-local-mail"], **(tags or {})},
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


def test_an_event_for_an_erased_submission_is_logged_and_ignored(client, delivered, capsys):
    ids = message_ids(delivered)
    cli.run(["erase", "--stage", "local", "--email", ENQUIRY["email"], "--yes"])
    capsys.readouterr()

    tags = {"nlc-reference": [delivered], "nlc-copy": ["team"]}
    for detail_type, detail in (("Email Delivered", {}), ("Email Bounced", BOUNCE)):
        ses_event(client, detail_type, ids["team"], tags, **detail)  # raises if the function fails

    assert stored_submissions() == {}
    logged = capsys.readouterr().out
    assert '"event":"mail_event_for_no_submission"' in logged
    assert ENQUIRY["email"] not in logged


def test_a_bounce_leaves_a_restricted_submission_restricted_and_unsendable(client, delivered):
    cli.run(["restrict", "--stage", "local", "--email", ENQUIRY["email"], "--yes"])

    ses_event(client, "Email Bounced", message_ids(delivered)["team"], **BOUNCE)

    stored = stored_submissions()[delivered]
    assert (stored["status"], stored["team_mail"]) == ("restricted", "bounced (Permanent)")
    with pytest.raises(cli.CommandError, match="restricted"):
        cli.run(["retry", "--stage", "local", "--reference", delivered])
    # Lifted, it is what the bounce made it: failed, for staff to send again.
    cli.run(["restrict", "--stage", "local", "--email", ENQUIRY["email"], "--lift", "--yes"])
    assert stored_submissions()[delivered]["status"] == "failed"


def test_events_arriving_out_of_order_are_recorded_by_their_own_time(client, delivered):
    """EventBridge may hand over a later event first: the latest by SES's own
    timestamp decides what became of an email."""
    team = message_ids(delivered)["team"]
    ses_event(client, "Email Bounced", team, **BOUNCE)  # at 07:00:01
    ses_event(client, "Email Delivered", team, delivery={"timestamp": "2026-11-26T07:00:00.500Z"})

    stored = stored_submissions()[delivered]
    assert (stored["status"], stored["team_mail"]) == ("failed", "bounced (Permanent)")


def test_a_later_event_arriving_second_is_recorded(client, delivered):
    team = message_ids(delivered)["acknowledgement"]
    ses_event(client, "Email Delivered", team, delivery={"timestamp": "2026-11-26T07:00:00.500Z"})
    ses_event(client, "Email Complaint Received", team, complaint={"timestamp": "2026-11-26T07:05:00.000Z"})
    assert stored_submissions()[delivered]["acknowledgement_mail"] == "complained"
