"""POST /enquiries as the website and the correspondence team see it: the
visitor's answer, what DynamoDB holds, and the email SES received once the
delivery queue's worker has run."""

from __future__ import annotations

import json
import re
import time
from urllib.parse import urlencode

import pytest
from conftest import body, stored_submissions, submissions_table_items

from chalicelib.settings import get_settings

ENQUIRY = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "organisation": "Analytical Engines Ltd",
    "subject": "Joining the network",
    "message": "Hello,\r\nHow do I join the network?\r\n\r\nThanks",
}
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BROWSER = {**FORM, "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
REFERENCE = re.compile(r"^NLC-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$")


def team_copy(outbox) -> dict:
    [email] = [email for email in outbox if email["to"] == [get_settings().enquiries_mailbox]]
    return email


def post(client, data, headers=JSON, path="/enquiries"):
    payload = json.dumps(data) if headers.get("Content-Type") == "application/json" else urlencode(data)
    return client.http.post(path, headers=headers, body=payload)


def test_a_json_enquiry_is_accepted_with_a_reference(client, outbox):
    response = post(client, ENQUIRY)

    assert response.status_code == 202
    answer = body(response)
    assert answer["status"] == "received"
    assert REFERENCE.match(answer["reference"])
    assert response.headers["Cache-Control"] == "no-store"


def test_the_enquiry_is_stored_with_every_field_and_expires_after_the_retention_period(
    client, outbox, worker
):
    before = time.time()
    reference = body(post(client, ENQUIRY))["reference"]
    assert stored_submissions()[reference]["status"] == "received"
    assert worker() == [reference]

    stored = stored_submissions()[reference]
    assert stored["type"] == "enquiry"
    assert stored["status"] == "forwarded"
    assert stored["fields"] == {**ENQUIRY, "message": "Hello,\nHow do I join the network?\n\nThanks"}
    assert stored["created_at"].endswith("Z")
    item = next(item for item in submissions_table_items() if item["pk"]["S"] == f"submission#{reference}")
    retention = get_settings().retention_days * 86400
    assert before + retention - 1 <= int(item["expires_at"]["N"]) <= time.time() + retention
    # Nothing of the sender's outlives the claim on it.
    assert "claim" not in item and "claim_expires_at" not in item


def test_the_team_gets_every_field_with_reply_to_the_visitor(client, outbox, worker):
    reference = body(post(client, ENQUIRY))["reference"]
    worker()

    team = [email for email in outbox if email["to"] == ["nlc@cabinetoffice.gov.uk"]]
    assert len(team) == 1
    email = team[0]
    assert email["from"] == get_settings().sender
    assert email["destination"] == {"ToAddresses": ["nlc@cabinetoffice.gov.uk"]}
    assert email["reply_to"] == ["ada@example.com"]
    assert email["subject"] == f"Enquiry: {reference}"
    assert email["html"] is None
    text = email["text"]
    assert f"Reference: {reference}" in text
    for line in (
        "Name: Ada Lovelace",
        "Email address: ada@example.com",
        "Organisation: Analytical Engines Ltd",
        "Subject: Joining the network",
        "Message:\nHello,\nHow do I join the network?\n\nThanks",
    ):
        assert line in text


def test_the_visitor_gets_an_acknowledgement_with_the_reference_and_nothing_they_typed(
    client, outbox, worker
):
    reference = body(post(client, ENQUIRY))["reference"]
    worker()

    acknowledgements = [email for email in outbox if email["to"] == ["ada@example.com"]]
    assert len(acknowledgements) == 1
    email = acknowledgements[0]
    assert email["subject"] == f"We have received your enquiry: {reference}"
    assert email["reply_to"] == ["nlc@cabinetoffice.gov.uk"]
    assert f"Your reference is {reference}" in email["text"]
    assert "What happens next" in email["text"]
    for typed in ("Ada Lovelace", "Analytical Engines", "Joining the network", "join the network"):
        assert typed not in email["text"]
    assert stored_submissions()[reference]["acknowledged_at"]


def test_a_stage_can_turn_acknowledgements_off(client, outbox, stage_settings, worker):
    stage_settings(NLC_SEND_ACKNOWLEDGEMENTS="false")

    reference = body(post(client, ENQUIRY))["reference"]
    worker()

    assert [email["to"] for email in outbox] == [["nlc@cabinetoffice.gov.uk"]]
    assert stored_submissions()[reference]["acknowledged_at"] is None


def test_the_stages_mailbox_receives_enquiries(client, outbox, stage_settings, worker):
    stage_settings(NLC_ENQUIRIES_MAILBOX="enquiries@example.gov.uk")

    post(client, ENQUIRY)
    worker()

    assert [email["to"] for email in outbox] == [["ada@example.com"], ["enquiries@example.gov.uk"]]


def test_optional_fields_may_be_left_out_or_blank(client, outbox, worker):
    response = post(client, {"name": "Ada", "email": "ada@example.com", "message": "Hi", "organisation": " "})
    worker()

    assert response.status_code == 202
    stored = stored_submissions()[body(response)["reference"]]
    assert stored["fields"] == {"name": "Ada", "email": "ada@example.com", "message": "Hi"}
    assert "Organisation:" not in team_copy(outbox)["text"]


def test_a_browser_form_post_is_redirected_to_the_confirmation_page(client, outbox, worker):
    response = post(client, {**ENQUIRY, "website": ""}, headers=BROWSER)
    worker()

    assert response.status_code == 303
    location = response.headers["Location"]
    confirmation = get_settings().confirmation_url
    assert location.startswith(confirmation + "?reference=NLC-")
    reference = location.split("reference=")[1]
    assert stored_submissions()[reference]["status"] == "forwarded"
    assert len(outbox) == 2


def test_a_form_post_that_asks_for_json_gets_json(client, outbox):
    response = post(client, ENQUIRY, headers={**FORM, "Accept": "application/json"})

    assert response.status_code == 202
    assert REFERENCE.match(body(response)["reference"])


def test_a_form_post_with_a_charset_is_read_as_a_form(client, outbox):
    response = post(
        client, ENQUIRY, headers={"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}
    )

    assert response.status_code == 202
    assert stored_submissions()[body(response)["reference"]]["fields"]["name"] == "Ada Lovelace"


def test_welsh_and_other_scripts_arrive_intact(client, outbox, worker):
    message = "Shwmae, hoffwn i ymuno â'r rhwydwaith. 你好 — ŵ ŷ"
    reference = body(post(client, {**ENQUIRY, "name": "Siân Ŵyn", "message": message}, headers=FORM))[
        "reference"
    ]
    worker()

    assert stored_submissions()[reference]["fields"]["message"] == message
    assert "Name: Siân Ŵyn" in team_copy(outbox)["text"]


def test_the_site_origins_may_post_across_origins(client, outbox):
    origin = get_settings().site_origins[0]

    preflight = client.http.options(
        "/enquiries",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key",
        },
    )
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]

    response = post(client, ENQUIRY, headers={**JSON, "Origin": origin})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == origin


@pytest.mark.parametrize("path", ["/enquiries", "/accessible-format-requests"])
def test_other_origins_get_no_cors_grant(client, outbox, path):
    preflight = client.http.options(path, headers={"Origin": "https://evil.example"})
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers


def test_logs_name_the_reference_and_status_but_nothing_the_visitor_typed(client, outbox, capsys, worker):
    reference = body(post(client, ENQUIRY))["reference"]
    worker()

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    events = [line for line in lines if line.get("type") == "submission"]
    assert [(line["event"], line["reference"], line["status"]) for line in events] == [
        ("stored", reference, "received"),
        ("forwarded", reference, "forwarded"),
    ]
    logged = json.dumps(lines)
    for value in ENQUIRY.values():
        for part in value.split("\r\n"):
            assert not part or part not in logged
    assert "127.0.0.1" not in logged
