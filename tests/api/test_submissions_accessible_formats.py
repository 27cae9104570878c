"""POST /accessible-format-requests against published content: the document
or page is found in one lookup, and the request reaches the right mailbox."""

from __future__ import annotations

import json
import textwrap

import pytest
from conftest import body, stored_submissions

from chalicelib.settings import get_settings
from chalicelib.submissions import document_lookup

PDF_URL = (
    "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
    "attachment_data/file/799567/6.4846_CO_CPSL-Report_A4-P_WEB_NoLogo__002.pdf"
)
JSON = {"Content-Type": "application/json"}
REQUEST = {"email": "ada@example.com", "name": "Ada Lovelace", "format": "large-print"}
MAILBOX = "publiccorrespondence@cabinetoffice.gov.uk"


def post(client, data):
    return client.http.post("/accessible-format-requests", headers=JSON, body=json.dumps(data))


def team_email(outbox, reference):
    found = [email for email in outbox if email["subject"] == f"Accessible format request: {reference}"]
    assert len(found) == 1
    return found[0]


def test_a_document_listed_by_the_api_can_be_requested(client, seeded, outbox, aws_calls, worker):
    listed = body(client.http.get("/documents"))["documents"]
    assert PDF_URL in [document["url"] for document in listed]
    aws_calls.clear()

    response = post(
        client,
        {
            **REQUEST,
            "document_url": PDF_URL,
            "assistive_technology": "JAWS screen reader",
            "message": "Size 24 font, please.",
        },
    )
    worker()

    assert response.status_code == 202
    reference = body(response)["reference"]
    email = team_email(outbox, reference)
    assert email["to"] == [MAILBOX]
    assert email["reply_to"] == ["ada@example.com"]
    document = next(document for document in listed if document["url"] == PDF_URL)
    for line in (
        f"Document: {document['title']}",
        f"Web address: {PDF_URL}",
        "Linked from: What We Do (/what-we-do/)",
        "Format needed: Large print",
        "Assistive technology: JAWS screen reader",
        "Name: Ada Lovelace",
        "Email address: ada@example.com",
        "Message:\nSize 24 font, please.",
    ):
        assert line in email["text"]
    stored = stored_submissions()[reference]
    assert stored["type"] == "accessible-format-request"
    assert stored["document"]["url"] == PDF_URL
    assert stored["recipient"] == MAILBOX
    # The document is found with one GetItem on the content table.
    content_table = get_settings().content_table
    reads = [call for call in aws_calls if call == ("DynamoDB", "GetItem")]
    assert [call.params["TableName"] for call in reads].count(content_table) == 1


@pytest.mark.parametrize(
    "url", ["/what-we-do/", "/what-we-do", "/what-we-do/index.html", "http://localhost:8080/what-we-do/#top"]
)
def test_a_page_of_the_site_can_be_requested_by_its_url_or_path(client, seeded, outbox, url, worker):
    response = post(client, {**REQUEST, "document_url": url})
    worker()

    assert response.status_code == 202
    text = team_email(outbox, body(response)["reference"])["text"]
    assert "Page: What We Do" in text
    assert f"Web address: {get_settings().site_origins[0]}/what-we-do/" in text


def test_a_document_the_site_does_not_publish_is_a_field_error(client, seeded, outbox):
    response = post(client, {**REQUEST, "document_url": PDF_URL.replace("799567", "123456")})

    assert response.status_code == 400
    assert body(response)["error"]["fields"] == {"document_url": document_lookup.UNKNOWN_DOCUMENT}
    assert outbox == []
    assert stored_submissions() == {}


def test_a_page_the_site_does_not_have_is_a_field_error(client, seeded, outbox):
    response = post(client, {**REQUEST, "document_url": "http://localhost:8080/no-such-page/"})

    assert body(response)["error"]["fields"] == {"document_url": document_lookup.UNKNOWN_DOCUMENT}
    assert outbox == []


def test_the_alternative_format_contact_a_page_names_gets_requests_for_its_documents(
    client, publish, outbox, tmp_path, worker
):
    pages = tmp_path / "pages"
    pages.mkdir()
    (pages / "reports.md").write_text(
        textwrap.dedent(
            """\
            ---
            title: Reports
            permalink: /reports/
            alternative_format_contact: reports-team@example.gov.uk
            ---
            Read the [annual report](/assets/annual-report.pdf) (PDF, 1MB, 12 pages).
            """
        )
    )
    publish(tmp_path)

    response = post(client, {**REQUEST, "document_url": "/assets/annual-report.pdf"})
    worker()

    assert response.status_code == 202
    reference = body(response)["reference"]
    email = team_email(outbox, reference)
    assert email["to"] == ["reports-team@example.gov.uk"]
    assert "Document: annual report" in email["text"]
    assert "File: PDF, 1MB, 12 pages" in email["text"]
    assert f"Web address: {get_settings().site_origins[0]}/assets/annual-report.pdf" in email["text"]
    acknowledgement = next(email for email in outbox if email["to"] == ["ada@example.com"])
    assert acknowledgement["reply_to"] == ["reports-team@example.gov.uk"]


def test_another_format_is_described_in_the_visitors_words(client, seeded, outbox, worker):
    response = post(
        client, {**REQUEST, "document_url": PDF_URL, "format": "other", "other_format": "Moon type"}
    )
    worker()

    text = team_email(outbox, body(response)["reference"])["text"]
    assert "Format needed: Other" in text
    assert "Other format: Moon type" in text


def test_text_left_in_the_other_format_box_is_ignored_for_a_listed_format(client, seeded, outbox, worker):
    response = post(
        client, {**REQUEST, "document_url": PDF_URL, "format": "braille", "other_format": "Moon type"}
    )
    worker()

    reference = body(response)["reference"]
    assert "other_format" not in stored_submissions()[reference]["fields"]
    assert "Moon type" not in team_email(outbox, reference)["text"]


def test_the_acknowledgement_names_the_document_and_format_but_repeats_nothing_typed(
    client, seeded, outbox, worker
):
    response = post(
        client,
        {
            **REQUEST,
            "document_url": PDF_URL,
            "format": "other",
            "other_format": "Visit example.com for prizes",
        },
    )
    worker()

    reference = body(response)["reference"]
    acknowledgement = next(email for email in outbox if email["to"] == ["ada@example.com"])
    assert (
        acknowledgement["subject"] == f"We have received your request for an accessible format: {reference}"
    )
    assert acknowledgement["reply_to"] == [MAILBOX]
    text = acknowledgement["text"]
    assert f"Your reference is {reference}" in text
    assert "Document: " in text and "Format: Other" in text
    assert "What happens next" in text
    assert "prizes" not in text and "Ada Lovelace" not in text
