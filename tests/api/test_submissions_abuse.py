"""Abuse and accidents: the honeypot, rate limits per client IP and per
address, and Idempotency-Key for repeated posts."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from chalice.local import LambdaEventConverter
from conftest import ENQUIRY, JSON, body, post, stored_submissions, submissions_table_items

from chalicelib import aws, origin_secret
from chalicelib.submissions import intake, staff

REQUEST = {"email": "ada@example.com", "document_url": "/what-we-do/", "format": "braille"}


@pytest.fixture
def from_ip(monkeypatch):
    """Make the next requests come from another client IP."""

    def use(address: str) -> None:
        monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)

    return use


# The honeypot ------------------------------------------------------------------


def test_a_filled_in_honeypot_is_answered_as_usual_stored_as_spam_and_not_sent(client, outbox, capsys):
    response = post(client, {**ENQUIRY, "website": "http://cheap-pills.example"})

    assert response.status_code == 202
    reference = body(response)["reference"]
    assert body(response) == {"reference": reference, "status": "received"}
    assert stored_submissions()[reference]["status"] == "spam"
    assert outbox == []
    assert f'"event":"stored","reference":"{reference}","status":"spam"' in capsys.readouterr().out


def test_a_browser_filling_the_honeypot_is_redirected_as_usual(client, seeded, outbox):
    response = client.http.post(
        "/accessible-format-requests",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=urlencode({**REQUEST, "website": "spam"}),
    )

    assert response.status_code == 303
    assert outbox == []


def test_staff_can_release_a_submission_taken_for_spam(client, outbox):
    reference = body(post(client, {**ENQUIRY, "website": "autofilled"}))["reference"]

    released = staff.retry_submission(reference)

    assert released["status"] == "forwarded"
    assert [email["subject"] for email in outbox] == [
        f"We have received your enquiry: {reference}",
        f"Enquiry: {reference}",
    ]


# Rate limits -------------------------------------------------------------------


def test_over_the_limit_for_one_ip_is_a_429_with_retry_after(
    client, outbox, stage_settings, from_ip, aws_calls, worker
):
    settings = stage_settings(NLC_RATE_LIMIT_PER_IP="2")
    for number in range(2):
        assert post(client, {**ENQUIRY, "email": f"person{number}@example.com"}).status_code == 202
    aws_calls.clear()

    response = post(client, {**ENQUIRY, "email": "person3@example.com"})

    assert response.status_code == 429
    assert aws_calls == [("DynamoDB", "TransactWriteItems")]
    assert 0 < int(response.headers["Retry-After"]) <= settings.rate_limit_window_seconds
    error = body(response)["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("You have sent too many requests in a short time. Try again in ")
    assert "nlc@cabinetoffice.gov.uk" in error["message"]
    assert len(stored_submissions()) == 2
    worker()
    assert len(outbox) == 4

    from_ip("192.0.2.7")
    assert post(client, {**ENQUIRY, "email": "person4@example.com"}).status_code == 202


@pytest.mark.parametrize("again", ["ADA@example.com", "ada+news@example.com", "Ada+NLC+2@Example.COM"])
def test_over_the_limit_for_one_address_is_a_429_whatever_its_case_or_tag(
    client, outbox, stage_settings, from_ip, again
):
    stage_settings(NLC_RATE_LIMIT_PER_EMAIL="1")
    assert post(client).status_code == 202
    from_ip("192.0.2.8")

    response = post(client, {**ENQUIRY, "email": again}, path="/enquiries")

    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert post(client, {**ENQUIRY, "email": "grace@example.com"}).status_code == 202
    assert post(client, {**ENQUIRY, "email": "ada@example.org"}).status_code == 202
    assert len(stored_submissions()) == 3


def test_the_limit_starts_again_in_the_next_window(client, outbox, stage_settings, submissions_clock):
    settings = stage_settings(NLC_RATE_LIMIT_PER_IP="1")
    assert post(client).status_code == 202
    assert post(client, {**ENQUIRY, "message": "Another question"}).status_code == 429

    submissions_clock.offset = settings.rate_limit_window_seconds

    assert post(client, {**ENQUIRY, "message": "Another question"}).status_code == 202


def test_a_browser_over_the_limit_gets_a_page_saying_when_to_try_again(client, outbox, stage_settings):
    stage_settings(NLC_RATE_LIMIT_PER_IP="0")

    response = client.http.post(
        "/enquiries",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=urlencode(ENQUIRY),
    )

    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "You have sent too many requests" in response.body.decode()
    assert outbox == []


def test_counters_hold_no_address_and_expire_with_their_window(client, outbox):
    post(client)

    counters = [item for item in submissions_table_items() if item["pk"]["S"].startswith("rate#")]
    assert len(counters) == 2
    text = json.dumps(counters)
    assert "ada@example.com" not in text and "127.0.0.1" not in text
    assert all(int(item["expires_at"]["N"]) <= time.time() + 3600 for item in counters)


# Idempotency --------------------------------------------------------------------


def test_a_repeated_post_with_the_same_key_gets_the_first_answer_and_is_sent_once(client, outbox, worker):
    headers = {**JSON, "Idempotency-Key": "9b2f7c1e-5d1a-4c1b-9f67-1f6f1a2b3c4d"}
    first = post(client, headers=headers)
    again = post(client, headers=headers)
    worker()

    assert first.status_code == again.status_code == 202
    assert body(again) == body(first)
    assert list(stored_submissions()) == [body(first)["reference"]]
    assert len(outbox) == 2


def test_a_repeated_form_post_is_redirected_with_the_first_reference(client, outbox):
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "text/html",
        "Idempotency-Key": "form-1",
    }
    first = client.http.post("/enquiries", headers=headers, body=urlencode(ENQUIRY))
    again = client.http.post("/enquiries", headers=headers, body=urlencode(ENQUIRY))

    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert len(stored_submissions()) == 1


def test_the_same_key_with_a_different_body_is_a_422(client, outbox, worker):
    headers = {**JSON, "Idempotency-Key": "key-1"}
    post(client, headers=headers)
    worker()

    response = post(client, {**ENQUIRY, "message": "Something else"}, headers=headers)

    assert response.status_code == 422
    assert body(response)["error"]["code"] == "idempotency_key_reused"
    assert len(stored_submissions()) == 1
    assert len(outbox) == 2


def test_a_repeat_is_not_held_back_by_the_rate_limit(client, outbox, stage_settings):
    stage_settings(NLC_RATE_LIMIT_PER_IP="1")
    headers = {**JSON, "Idempotency-Key": "key-2"}

    assert post(client, headers=headers).status_code == 202
    assert post(client, headers=headers).status_code == 202


def test_keys_are_separate_for_each_form(client, outbox, seeded):
    headers = {**JSON, "Idempotency-Key": "shared-key"}
    enquiry = post(client, headers=headers)
    request = post(client, REQUEST, headers=headers, path="/accessible-format-requests")

    assert request.status_code == 202
    assert body(request)["reference"] != body(enquiry)["reference"]


def test_a_key_may_be_used_again_after_a_day(client, outbox, submissions_clock):
    headers = {**JSON, "Idempotency-Key": "key-3"}
    first = body(post(client, headers=headers))["reference"]

    submissions_clock.offset = intake.IDEMPOTENCY_SECONDS + 1
    second = post(client, {**ENQUIRY, "message": "A new question"}, headers=headers)

    assert second.status_code == 202
    assert body(second)["reference"] != first


# Posts from other sites' pages ---------------------------------------------------


@pytest.mark.parametrize(
    "headers, data",
    [
        ({"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}, urlencode(ENQUIRY)),
        (JSON, json.dumps(ENQUIRY)),
    ],
)
def test_a_post_from_another_sites_page_is_refused_and_nothing_is_stored_or_sent(
    client, outbox, aws_calls, headers, data
):
    response = client.http.post(
        "/enquiries", headers={**headers, "Origin": "https://attacker.example"}, body=data
    )

    assert response.status_code == 403
    assert "Send this form from the National Leadership Centre website." in response.body.decode()
    assert aws_calls == []
    assert outbox == []
    assert stored_submissions() == {}


def test_a_post_from_the_sites_own_page_or_with_no_origin_is_accepted(client, outbox):
    from_site = client.http.post(
        "/enquiries", headers={**JSON, "Origin": "http://localhost:8080"}, body=json.dumps(ENQUIRY)
    )
    no_origin = client.http.post(
        "/enquiries", headers=JSON, body=json.dumps({**ENQUIRY, "email": "bob@example.com"})
    )

    assert (from_site.status_code, no_origin.status_code) == (202, 202)
    assert from_site.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"


# The same request again -----------------------------------------------------------


def test_the_same_form_sent_again_within_ten_minutes_is_stored_and_sent_once(
    client, outbox, worker, submissions_clock, stage_settings
):
    stage_settings(NLC_RATE_LIMIT_PER_IP="1")
    # Early in one of DynamoDB's ten-minute token windows, whenever the test runs.
    submissions_clock.offset = 10 - time.time() % intake.REQUEST_WINDOW_SECONDS
    first = post(client)
    worker()
    submissions_clock.offset += 30  # the visitor saw no answer, and sends it again

    again = post(client)
    worker()

    assert first.status_code == again.status_code == 202
    assert body(again) == body(first)
    assert list(stored_submissions()) == [body(first)["reference"]]
    assert len(outbox) == 2


# Behind CloudFront ---------------------------------------------------------------

SECRET = "origin-secret-for-tests"


@pytest.fixture
def behind_cloudfront(client, stage_settings, aws_calls):
    """The stage's origin secret, as provisioning makes it."""
    stage_settings(NLC_ORIGIN_SECRET="nlc/local/origin-verify", NLC_RATE_LIMIT_PER_IP="1")
    aws.client("secretsmanager").create_secret(Name="nlc/local/origin-verify", SecretString=SECRET)
    aws_calls.clear()


def through_cloudfront(client, viewer: str, proof: str, email: str):
    headers = {**JSON, "X-NLC-Origin-Verify": proof, "CloudFront-Viewer-Address": viewer}
    return post(client, {**ENQUIRY, "email": email}, headers=headers)


def test_behind_cloudfront_each_visitor_is_counted_by_the_address_cloudfront_saw(
    client, outbox, behind_cloudfront, aws_calls
):
    # API Gateway sees the same edge for all three: the limit of one is per visitor.
    assert through_cloudfront(client, "198.51.100.7:51234", SECRET, "a@example.com").status_code == 202
    assert through_cloudfront(client, "2001:db8::7:443", SECRET, "b@example.com").status_code == 202
    assert through_cloudfront(client, "198.51.100.7:40000", SECRET, "c@example.com").status_code == 429
    # Read once for the container, not once a request.
    assert aws_calls.count(("Secrets Manager", "GetSecretValue")) == 1


def test_a_forged_viewer_address_without_the_secret_counts_the_caller_itself(
    client, outbox, behind_cloudfront, aws_calls
):
    assert through_cloudfront(client, "198.51.100.1:1", "guessed", "a@example.com").status_code == 202
    # Another forged address, the same caller: counted as the caller API Gateway saw.
    assert through_cloudfront(client, "198.51.100.2:1", "guessed", "b@example.com").status_code == 429
    unproven = post(
        client,
        {**ENQUIRY, "email": "c@example.com"},
        headers={**JSON, "CloudFront-Viewer-Address": "198.51.100.3:1"},
    )
    assert unproven.status_code == 429


def test_a_secret_that_cannot_be_read_never_fails_a_form_and_is_logged_without_personal_data(
    client, outbox, behind_cloudfront, fake_aws, capsys
):
    fake_aws.fail("GetSecretValue")
    assert through_cloudfront(client, "198.51.100.9:1", SECRET, "a@example.com").status_code == 202
    # Counted as the caller API Gateway saw, not as the claimed visitor.
    assert through_cloudfront(client, "198.51.100.10:1", SECRET, "b@example.com").status_code == 429
    logged = capsys.readouterr().out
    assert '"event":"origin secret unreadable"' in logged
    assert "198.51.100" not in logged and SECRET not in logged


def test_a_rotated_secret_is_believed_once_read_again_at_most_a_minute_later(
    client, outbox, behind_cloudfront, aws_calls, submissions_clock
):
    submissions_clock.offset = 10 - time.time() % 3600  # early in an hour's rate-limit window
    assert through_cloudfront(client, "198.51.100.1:1", SECRET, "a@example.com").status_code == 202
    aws.client("secretsmanager").put_secret_value(SecretId="nlc/local/origin-verify", SecretString="rotated")
    aws_calls.clear()
    # Within the minute the new value is not yet believed: counted as the caller itself.
    assert through_cloudfront(client, "198.51.100.2:1", "rotated", "b@example.com").status_code == 202
    assert through_cloudfront(client, "198.51.100.3:1", "rotated", "c@example.com").status_code == 429
    assert aws_calls.count(("Secrets Manager", "GetSecretValue")) == 0

    submissions_clock.offset += origin_secret.RETRY_SECONDS
    # Read again once: each visitor counted by the address CloudFront saw.
    assert through_cloudfront(client, "198.51.100.4:1", "rotated", "d@example.com").status_code == 202
    assert through_cloudfront(client, "198.51.100.5:1", "rotated", "e@example.com").status_code == 202
    assert aws_calls.count(("Secrets Manager", "GetSecretValue")) == 1
