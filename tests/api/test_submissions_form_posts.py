"""The site's own forms posted as browsers post them: a Netlify contact form
(name, email, message, a named submit button, `form-name`, `bot-field`),
form-encoded or multipart, pointed at the API with only `action` changed."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import pytest
from conftest import body, stored_submissions, team_copies

from chalicelib.settings import get_settings
from chalicelib.web.form_posts import MAX_BODY_BYTES

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
FORM = "application/x-www-form-urlencoded"
# What Chromium sends for the organisation's Netlify contact form.
NETLIFY_POST = {
    "form-name": "contact",
    "bot-field": "",
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "message": "How do I join the network?",
    "submit": "Send Message",
}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None) -> tuple[str, bytes]:
    """A multipart/form-data body as a browser builds it; its Content-Type."""
    boundary = f"----WebKitFormBoundary{uuid.uuid4().hex[:16]}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    for name, (filename, content) in (files or {}).items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    return f"multipart/form-data; boundary={boundary}", b"".join(parts) + f"--{boundary}--\r\n".encode()


def post_form(client, fields, *, as_multipart=False, headers=BROWSER, path="/enquiries"):
    if as_multipart:
        content_type, payload = multipart(fields)
    else:
        content_type, payload = FORM, urlencode(fields).encode()
    return client.http.post(path, headers={**headers, "Content-Type": content_type}, body=payload)


@pytest.mark.parametrize("as_multipart", [False, True], ids=["form-encoded", "multipart"])
def test_the_netlify_contact_form_lands_on_the_confirmation_page_and_reaches_the_team(
    client, outbox, worker, capsys, as_multipart
):
    response = post_form(client, NETLIFY_POST, as_multipart=as_multipart)

    assert response.status_code == 303, response.body
    assert response.headers["Location"].startswith(get_settings().confirmation_url + "?reference=NLC-")
    reference = response.headers["Location"].rsplit("=", 1)[1]
    stored = stored_submissions()[reference]
    assert stored["fields"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "message": "How do I join the network?",
    }
    worker()
    [team] = team_copies(outbox, reference)
    assert "How do I join the network?" in team["text"]
    # The dropped fields are named in the log; their values never.
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {"type": "form", "event": "fields_ignored", "fields": ["form-name", "submit"]} in logged
    assert "Send Message" not in json.dumps(logged)


def test_a_multipart_post_is_read_as_the_same_fields_with_any_script(client, outbox):
    fields = {**NETLIFY_POST, "name": "Siân Ŵyn 你好", "message": "Line one\r\nLine two"}

    response = post_form(client, fields, as_multipart=True, headers={"Accept": "application/json"})

    assert response.status_code == 202
    stored = stored_submissions()[body(response)["reference"]]
    assert stored["fields"]["name"] == "Siân Ŵyn 你好"
    assert stored["fields"]["message"] == "Line one\nLine two"


@pytest.mark.parametrize("honeypot", ["bot-field", "website"])
@pytest.mark.parametrize("as_multipart", [False, True], ids=["form-encoded", "multipart"])
def test_either_honeypot_filled_in_is_answered_as_usual_and_never_sent(
    client, outbox, worker, honeypot, as_multipart
):
    response = post_form(client, {**NETLIFY_POST, honeypot: "http://spam.example"}, as_multipart=as_multipart)

    assert response.status_code == 303
    reference = response.headers["Location"].rsplit("=", 1)[1]
    assert stored_submissions()[reference]["status"] == "spam"
    assert worker() == []
    assert outbox == []


def test_json_with_the_netlify_honeypot_filled_in_is_spam_too(client, outbox):
    payload = {"name": "Ada", "email": "ada@example.com", "message": "Hi", "bot-field": "x"}

    response = client.http.post(
        "/enquiries", headers={"Content-Type": "application/json"}, body=json.dumps(payload)
    )

    assert response.status_code == 202
    assert stored_submissions()[body(response)["reference"]]["status"] == "spam"


def test_json_stays_strict_about_fields_the_form_does_not_have(client, outbox):
    payload = {"name": "Ada", "email": "ada@example.com", "message": "Hi", "submit": "Send Message"}

    response = client.http.post(
        "/enquiries", headers={"Content-Type": "application/json"}, body=json.dumps(payload)
    )

    assert response.status_code == 400
    assert body(response)["error"]["fields"] == {"submit": "Remove this field: the form does not have it"}
    assert stored_submissions() == {}


def test_a_form_post_missing_a_field_still_says_what_to_fix(client, outbox):
    response = post_form(client, {**NETLIFY_POST, "message": ""}, as_multipart=True)

    assert response.status_code == 400
    assert "Enter your message" in response.body.decode()
    assert stored_submissions() == {}


def test_a_file_is_refused_with_a_message_saying_files_are_not_accepted(client, outbox, aws_calls):
    content_type, payload = multipart(NETLIFY_POST, files={"attachment": ("cv.pdf", b"%PDF-1.7 ...")})

    response = client.http.post("/enquiries", headers={**BROWSER, "Content-Type": content_type}, body=payload)

    assert response.status_code == 400
    assert "Files are not accepted" in response.body.decode()
    assert aws_calls == []


def test_a_file_field_left_empty_is_ignored_like_any_other_extra_field(client, outbox):
    content_type, payload = multipart(NETLIFY_POST, files={"attachment": ("", b"")})

    response = client.http.post("/enquiries", headers={**BROWSER, "Content-Type": content_type}, body=payload)

    assert response.status_code == 303


def test_a_multipart_body_over_the_limit_is_a_413(client, outbox):
    response = post_form(client, {**NETLIFY_POST, "message": "x" * MAX_BODY_BYTES}, as_multipart=True)

    assert response.status_code == 413
    assert "Shorten your message" in response.body.decode()


@pytest.mark.parametrize(
    "content_type, payload",
    [
        (
            "multipart/form-data",
            b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nAda\r\n--x--\r\n',
        ),
        ("multipart/form-data; boundary=x", b"no parts at all"),
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nAda\r\n--x--\r\n"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="name"\r\n\r\n\xff\r\n--x--\r\n',
        ),
    ],
    ids=["no boundary", "no parts", "a part with no name", "not UTF-8"],
)
def test_a_malformed_multipart_body_is_a_400(client, outbox, content_type, payload):
    response = client.http.post("/enquiries", headers={"Content-Type": content_type}, body=payload)

    assert response.status_code == 400
    assert body(response)["error"]["code"] == "bad_request"


def test_a_multipart_form_with_too_many_fields_is_refused(client, outbox):
    fields = {**NETLIFY_POST, **{f"f{n}": "x" for n in range(60)}}

    response = post_form(client, fields, as_multipart=True, headers={})

    assert response.status_code == 400
    assert "too many fields" in body(response)["error"]["message"]


def charset_post(client, charset: str, value: bytes):
    boundary = "----WebKitFormBoundaryCharset"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{text}\r\n'.encode()
        for name, text in {"name": "Ada Lovelace", "email": "ada@example.com"}.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="message"\r\n'
        f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode()
        + value
        + b"\r\n"
    )
    return client.http.post(
        "/enquiries",
        headers={"Accept": "application/json", "Content-Type": f"multipart/form-data; boundary={boundary}"},
        body=b"".join(parts) + f"--{boundary}--\r\n".encode(),
    )


@pytest.mark.parametrize("charset", ["bogus-charset", "zlib", "base64", "rot13", "utf-7", "UTF-7", "hz"])
def test_a_part_in_an_unknown_non_text_or_markup_smuggling_charset_is_a_400_naming_the_field(client, charset):
    response = charset_post(client, charset, b"+ADw-script+AD4-alert(1)+ADw-/script+AD4-")

    assert response.status_code == 400, response.body
    message = body(response)["error"]["message"]
    assert '"message"' in message and charset.lower() in message.lower()
    assert stored_submissions() == {}


@pytest.mark.parametrize(
    "charset, value, read",
    [
        ("utf-8", "Siân".encode(), "Siân"),
        ("UTF-8", "Siân".encode(), "Siân"),
        ("windows-1252", "Siân".encode("cp1252"), "Siân"),
        ("iso-8859-1", "Siân".encode("latin-1"), "Siân"),
        ("shift_jis", "日本".encode("shift_jis"), "日本"),
    ],
)
def test_a_part_in_utf8_or_a_charset_browsers_send_is_read(client, charset, value, read):
    response = charset_post(client, charset, value)

    assert response.status_code == 202, response.body
    assert stored_submissions()[body(response)["reference"]]["fields"]["message"] == read
