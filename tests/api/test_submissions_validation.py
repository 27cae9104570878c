"""Bad input to the forms: each gets a plain 4xx answer naming what to fix,
nothing is stored, nothing is sent, and no AWS call is made at all."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from conftest import ENQUIRY, JSON, body, post, stored_submissions

from chalicelib.submissions import document_lookup

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BROWSER = {**FORM, "Accept": "text/html"}
REQUEST = {
    "email": "ada@example.com",
    "document_url": "/what-we-do/",
    "format": "large-print",
}
INVALID_EMAIL = "Enter an email address in the correct format, like name@example.com"
ONE_LINE = "must be on one line, with no line breaks or hidden characters"


@pytest.fixture
def quiet(client, outbox, aws_calls):
    """Checks, after the test, that nothing was stored, sent or even asked of AWS."""
    aws_calls.clear()
    yield
    assert aws_calls == []
    assert outbox == []
    assert stored_submissions() == {}


def field_errors(response) -> dict:
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == "There is a problem with what was entered"
    return error["fields"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": None}, "name", "Enter your name"),
        ({"name": "   "}, "name", "Enter your name"),
        ({"email": ""}, "email", "Enter your email address"),
        ({"message": "\r\n "}, "message", "Enter your message"),
        ({"email": "ada@"}, "email", INVALID_EMAIL),
        ({"email": "ada.example.com"}, "email", INVALID_EMAIL),
        ({"email": "Ada <ada@example.com>"}, "email", INVALID_EMAIL),
        ({"email": "ada@example.com, eve@example.com"}, "email", INVALID_EMAIL),
        ({"email": "ada@example.com\r\nBcc: eve@example.com"}, "email", INVALID_EMAIL),
        ({"email": "josé@example.com"}, "email", INVALID_EMAIL),
        ({"message": "x" * 5001}, "message", "Message must be 5,000 characters or fewer"),
        ({"name": "x" * 201}, "name", "Name must be 200 characters or fewer"),
        ({"subject": "y" * 201}, "subject", "Subject must be 200 characters or fewer"),
        ({"name": "Ada\nLovelace"}, "name", f"Name {ONE_LINE}"),
        ({"name": "Ada\x00"}, "name", f"Name {ONE_LINE}"),
        ({"name": "Ada\u2028Lovelace"}, "name", f"Name {ONE_LINE}"),
        ({"subject": "Hi\r\nBcc: eve@example.com"}, "subject", f"Subject {ONE_LINE}"),
        ({"organisation": "NLC\tLtd"}, "organisation", f"Organisation {ONE_LINE}"),
        ({"organisation": "NLC\x1b[31m"}, "organisation", f"Organisation {ONE_LINE}"),
        # Hidden format characters: a right-to-left override (the name reads
        # backwards in the team's mail), a zero-width space, a byte order
        # mark, a Mongolian vowel separator, a word joiner.
        ({"name": "Ada \u202eecalevol"}, "name", f"Name {ONE_LINE}"),
        ({"name": "Ada\u200bLovelace"}, "name", f"Name {ONE_LINE}"),
        ({"name": "\ufeffAda"}, "name", f"Name {ONE_LINE}"),
        ({"subject": "Join\u180eing"}, "subject", f"Subject {ONE_LINE}"),
        ({"organisation": "NLC\u2060Ltd"}, "organisation", f"Organisation {ONE_LINE}"),
        ({"name": "\u200b\u00ad "}, "name", "Enter your name"),
        ({"name": 42}, "name", "Name must be text"),
        ({"name": True}, "name", "Name must be text"),
        ({"message": ["a", "b"]}, "message", "Message must be text"),
        ({"subject": {"text": "hi"}}, "subject", "Subject must be text"),
        ({"phone": "0123"}, "phone", "Remove this field: the form does not have it"),
        ({"reference": "NLC-AAAA-AAAA"}, "reference", "Remove this field: the form does not have it"),
    ],
)
def test_each_bad_enquiry_field_gets_a_plain_message(client, quiet, changes, field, message):
    data = {**ENQUIRY, **changes}
    assert field_errors(post(client, data)) == {field: message}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": None}, "email", "Enter your email address"),
        ({"document_url": ""}, "document_url", "Enter the web address of the document or page you need"),
        ({"format": ""}, "format", "Select the format you need"),
        ({"format": "morse-code"}, "format", "Select the format you need from the list"),
        ({"format": "Braille"}, "format", "Select the format you need from the list"),
        ({"format": 3}, "format", "Select the format you need from the list"),
        ({"format": "other"}, "other_format", "Enter the format you need"),
        ({"format": "other", "other_format": "  "}, "other_format", "Enter the format you need"),
        ({"format": "other", "other_format": "Moon\ntype"}, "other_format", f"Other format {ONE_LINE}"),
        ({"document_url": "/what-we-do/\r\nBcc: x"}, "document_url", f"Web address {ONE_LINE}"),
        ({"document_url": "x" * 2001}, "document_url", "Web address must be 2,000 characters or fewer"),
        ({"assistive_technology": "a\nb"}, "assistive_technology", f"Assistive technology {ONE_LINE}"),
        ({"name": "Ada\rLovelace"}, "name", f"Name {ONE_LINE}"),
        ({"document_url": "/what-we-do/\u202e"}, "document_url", f"Web address {ONE_LINE}"),
    ],
)
def test_each_bad_request_field_gets_a_plain_message(client, quiet, changes, field, message):
    data = {**REQUEST, **changes}
    assert field_errors(post(client, data, "/accessible-format-requests")) == {field: message}


@pytest.mark.parametrize(
    "url",
    [
        "not a web address",
        "javascript:alert(1)",
        "https://evil.example/what-we-do/",
        "//evil.example/what-we-do/",
        "http://[::1/what-we-do/",
        "/../../etc/passwd",
    ],
)
def test_a_web_address_the_site_cannot_hold_is_refused_without_a_lookup(client, quiet, url):
    fields = field_errors(post(client, {**REQUEST, "document_url": url}, "/accessible-format-requests"))
    assert fields == {"document_url": document_lookup.UNKNOWN_DOCUMENT}


def test_every_problem_is_listed_at_once(client, quiet):
    fields = field_errors(post(client, {"email": "nope", "message": "", "extra": 1}))
    assert fields == {
        "name": "Enter your name",
        "email": INVALID_EMAIL,
        "message": "Enter your message",
        "extra": "Remove this field: the form does not have it",
    }


def test_a_message_of_5000_characters_fits_even_with_crlf_line_breaks(client, outbox):
    message = ("x" * 98 + "\r\n") * 50  # 5,000 characters as the visitor sees them
    response = post(client, {**ENQUIRY, "message": message.rstrip()})
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{not json", "The request body is not valid: send the form's fields as a JSON object."),
        (b"", 'Send the form\'s fields as a JSON object, like {"email": "name@example.com"}.'),
        (
            b'["name", "email"]',
            'Send the form\'s fields as a JSON object, like {"email": "name@example.com"}.',
        ),
        (b'"hello"', 'Send the form\'s fields as a JSON object, like {"email": "name@example.com"}.'),
        (b"\xff\xfe{}", "The request must be encoded as UTF-8."),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client, quiet, payload, message):
    response = client.http.post("/enquiries", headers=JSON, body=payload)
    assert response.status_code == 400
    assert body(response)["error"] == {"code": "bad_request", "message": message}


@pytest.mark.parametrize("depth", [21, 1_000, 30_000])
def test_json_nested_too_deep_is_a_400(client, quiet, depth):
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    payload = f'{{"name": {nested}, "email": "ada@example.com", "message": "Hi"}}'
    response = client.http.post("/enquiries", headers=JSON, body=payload)
    assert response.status_code == 400
    error = body(response)["error"]
    assert error["code"] == "bad_request"
    assert error["message"].startswith("The request nests objects or arrays more than 20 deep")


def test_json_nested_within_the_bound_is_checked_field_by_field(client, quiet):
    payload = '{"name": ' + "[" * 19 + "]" * 19 + ', "email": "ada@example.com", "message": "Hi"}'
    response = client.http.post("/enquiries", headers=JSON, body=payload)
    assert field_errors(response) == {"name": "Name must be text"}


def test_a_post_with_no_content_type_is_a_415(client, quiet):
    response = client.http.post("/enquiries", headers={}, body=json.dumps(ENQUIRY))
    assert response.status_code == 415
    error = body(response)["error"]
    assert error["code"] == "unsupported_media_type"
    assert "Content-Type" in error["message"]


def test_a_body_over_the_limit_is_a_413(client, quiet):
    response = post(client, {**ENQUIRY, "message": "x" * 70_000})
    assert response.status_code == 413
    assert body(response)["error"]["code"] == "payload_too_large"
    assert "Shorten your message" in body(response)["error"]["message"]


def test_another_content_type_is_a_415(client, quiet):
    response = client.http.post("/enquiries", headers={"Content-Type": "text/plain"}, body="name=Ada")
    assert response.status_code == 415
    assert body(response)["error"]["code"] == "unsupported_media_type"


def test_a_form_field_sent_twice_is_refused(client, quiet):
    payload = urlencode([*ENQUIRY.items(), ("name", "Eve")])
    response = client.http.post("/enquiries", headers=FORM, body=payload)
    assert field_errors(response) == {"name": "Name must be text"}


def test_a_form_with_too_many_fields_is_refused(client, quiet):
    payload = urlencode({**ENQUIRY, **{f"f{n}": "x" for n in range(60)}})
    response = client.http.post("/enquiries", headers=FORM, body=payload)
    assert response.status_code == 400
    assert body(response)["error"]["code"] == "bad_request"


@pytest.mark.parametrize("key", ["has space", "x" * 256, "naïve"])
def test_a_malformed_idempotency_key_is_refused(client, quiet, key):
    response = client.http.post(
        "/enquiries", headers={**JSON, "Idempotency-Key": key}, body=json.dumps(ENQUIRY)
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in body(response)["error"]["message"]


def test_a_browser_without_javascript_gets_a_page_listing_the_problems(client, quiet):
    payload = urlencode({"name": "", "email": "ada@", "message": "<script>alert(1)</script>" * 300})
    response = client.http.post(
        "/enquiries",
        headers={**BROWSER, "Referer": "http://localhost:8080/contact.html"},
        body=payload,
    )

    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    page = response.body.decode()
    assert "<title>Error: There is a problem" in page
    assert "<li>Enter your name</li>" in page
    assert f"<li>{INVALID_EMAIL}</li>" in page
    assert "<li>Message must be 5,000 characters or fewer</li>" in page
    assert "Back button" in page
    assert '<a href="http://localhost:8080/contact.html">' in page
    assert "<script>" not in page


def test_the_error_page_links_back_only_to_the_site(client, quiet):
    response = client.http.post(
        "/enquiries",
        headers={**BROWSER, "Referer": "https://evil.example/contact.html"},
        body=urlencode({"name": ""}),
    )
    assert response.status_code == 400
    assert "evil.example" not in response.body.decode()


def test_nothing_a_visitor_types_reaches_a_header_or_a_recipient(client, outbox, worker):
    injected = {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "subject": "Question about the programme",
        "organisation": "Eve <eve@example.com>",
        "message": "Hi\r\nBcc: eve@example.com\r\nTo: eve@example.com\r\nSubject: Pwned\r\n\r\nbody",
    }
    reference = body(post(client, injected))["reference"]
    worker()

    assert len(outbox) == 2
    for email in outbox:
        assert set(email["destination"]) == {"ToAddresses"}
        assert "eve@example.com" not in email["to"] + email["reply_to"]
        assert email["subject"] in (f"Enquiry: {reference}", f"We have received your enquiry: {reference}")
    team = outbox[1]
    assert team["to"] == ["nlc@cabinetoffice.gov.uk"]
    assert team["reply_to"] == ["ada@example.com"]
    # The message is kept, as text in the body.
    assert "Message:\nHi\nBcc: eve@example.com\nTo: eve@example.com" in team["text"]


def test_control_codes_pasted_into_a_message_are_dropped(client, outbox):
    reference = body(post(client, {**ENQUIRY, "message": "Page one\x0cPage two\x00\tend"}))["reference"]
    assert stored_submissions()[reference]["fields"]["message"] == "Page onePage two\tend"


def test_joiners_are_kept_and_hidden_characters_dropped_from_a_message(client, outbox):
    # Zero-width non-joiner and joiner: Persian names and emoji sequences need them.
    name = "Mehr\u200cdad \U0001f469\u200d\U0001f4bb"
    message = "Please\u200b call\u202e me\ufeff back.\nThanks"
    response = post(client, {**ENQUIRY, "name": name, "message": message})
    assert response.status_code == 202
    fields = stored_submissions()[body(response)["reference"]]["fields"]
    assert fields["name"] == name
    assert fields["message"] == "Please call me back.\nThanks"


def test_a_soft_hyphen_is_dropped_everywhere(client, outbox):
    response = post(
        client,
        {"name": "Ada Love\u00adlace", "email": "ada@exam\u00adple.com", "message": "Net\u00adwork"},
    )
    assert response.status_code == 202
    fields = stored_submissions()[body(response)["reference"]]["fields"]
    assert fields == {"name": "Ada Lovelace", "email": "ada@example.com", "message": "Network"}
