"""Form wording, the two emails and the retry policy: pure code, no AWS."""

from __future__ import annotations

import pytest

from chalicelib.submissions import emails, forms
from chalicelib.submissions.errors import FormInvalid
from chalicelib.submissions.policy import RetryPolicy
from chalicelib.submissions.submission import Submission

ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}
REQUEST = {"email": "ada@example.com", "document_url": "https://example.com/report.pdf", "format": "braille"}
ONE_LINE = "must be on one line, with no line breaks or hidden characters"


def problems(kind: str, data: dict) -> dict[str, str]:
    with pytest.raises(FormInvalid) as invalid:
        forms.check(kind, data)
    return invalid.value.fields


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"name": None}, {"name": "Enter your name"}),
        ({"name": " \t "}, {"name": "Enter your name"}),
        ({"email": "ada@"}, {"email": "Enter an email address in the correct format, like name@example.com"}),
        ({"message": "x" * 5001}, {"message": "Message must be 5,000 characters or fewer"}),
        ({"subject": "x" * 201}, {"subject": "Subject must be 200 characters or fewer"}),
        ({"organisation": "A\nB"}, {"organisation": f"Organisation {ONE_LINE}"}),
        ({"name": ["Ada"]}, {"name": "Name must be text"}),
        ({"phone": "0123"}, {"phone": "Remove this field: the form does not have it"}),
    ],
)
def test_each_problem_with_an_enquiry_is_worded_for_its_field(changes, expected):
    data = {key: value for key, value in {**ENQUIRY, **changes}.items() if value is not None}
    assert problems(forms.ENQUIRY, data) == expected


def test_every_problem_is_reported_at_once_each_field_once():
    assert problems(forms.ENQUIRY, {"email": "not an address", "name": "A\nB" * 200}) == {
        "email": "Enter an email address in the correct format, like name@example.com",
        "name": "Name must be 200 characters or fewer",
        "message": "Enter your message",
    }


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"format": None}, {"format": "Select the format you need"}),
        ({"format": "smoke-signals"}, {"format": "Select the format you need from the list"}),
        ({"format": "other"}, {"other_format": "Enter the format you need"}),
        ({"document_url": None}, {"document_url": "Enter the web address of the document or page you need"}),
        ({"document_url": "x" * 2001}, {"document_url": "Web address must be 2,000 characters or fewer"}),
        (
            {"assistive_technology": "x" * 501},
            {"assistive_technology": "Assistive technology must be 500 characters or fewer"},
        ),
    ],
)
def test_each_problem_with_an_accessible_format_request_is_worded_for_its_field(changes, expected):
    data = {key: value for key, value in {**REQUEST, **changes}.items() if value is not None}
    assert problems(forms.ACCESSIBLE_FORMAT_REQUEST, data) == expected


def test_a_valid_form_keeps_what_was_typed_tidied():
    form = forms.check(
        forms.ENQUIRY, {**ENQUIRY, "name": "  Ada  ", "organisation": "", "message": "One\r\nTwo\x0c"}
    )
    assert form.fields() == {"name": "Ada", "email": "ada@example.com", "message": "One\nTwo"}
    assert not form.is_spam


def test_other_format_text_counts_only_when_other_is_chosen():
    chosen = forms.check(forms.ACCESSIBLE_FORMAT_REQUEST, {**REQUEST, "other_format": "Moon type"})
    assert "other_format" not in chosen.fields()
    other = forms.check(
        forms.ACCESSIBLE_FORMAT_REQUEST, {**REQUEST, "format": "other", "other_format": "Moon type"}
    )
    assert other.fields()["other_format"] == "Moon type"


# Emails -------------------------------------------------------------------------------

VISITOR_TEXT = "Bcc: eve@example.com — please forward"


def enquiry(**overrides) -> Submission:
    return Submission(
        reference="NLC-ABCD-EF23",
        type=forms.ENQUIRY,
        created_at="2024-05-01T09:30:12.345Z",
        fields={
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "organisation": "Analytical Engines",
            "subject": VISITOR_TEXT,
            "message": f"How do I join?\n{VISITOR_TEXT}",
        },
        recipient="nlc@example.gov.uk",
        **overrides,
    )


def test_the_team_copy_has_every_field_and_replies_go_to_the_visitor():
    email = emails.team_copy(enquiry())
    assert (email.to, email.reply_to, email.subject) == (
        "nlc@example.gov.uk",
        "ada@example.com",
        "Enquiry: NLC-ABCD-EF23",
    )
    assert email.text == (
        "Enquiry from the National Leadership Centre website\n"
        "\n"
        "Reference: NLC-ABCD-EF23\n"
        "Received: 2024-05-01 at 09:30 UTC\n"
        "\n"
        "Name: Ada Lovelace\n"
        "Email address: ada@example.com\n"
        "Organisation: Analytical Engines\n"
        f"Subject: {VISITOR_TEXT}\n"
        "\n"
        "Message:\n"
        f"How do I join?\n{VISITOR_TEXT}\n"
        "\n"
        "--\n"
        "Reply to this email to answer ada@example.com. Keep the reference NLC-ABCD-EF23 in the subject.\n"
    )


def test_the_acknowledgement_has_the_reference_and_nothing_the_visitor_typed():
    email = emails.acknowledgement(enquiry())
    assert (email.to, email.reply_to) == ("ada@example.com", "nlc@example.gov.uk")
    assert email.subject == "We have received your enquiry: NLC-ABCD-EF23"
    assert "Your reference is NLC-ABCD-EF23" in email.text
    for typed in ("Ada Lovelace", "Analytical Engines", VISITOR_TEXT, "How do I join?"):
        assert typed not in email.subject
        assert typed not in email.text


def test_an_accessible_format_acknowledgement_names_the_document_and_format_only():
    submission = Submission(
        reference="NLC-ABCD-EF23",
        type=forms.ACCESSIBLE_FORMAT_REQUEST,
        created_at="2024-05-01T09:30:12.345Z",
        fields={**REQUEST, "format": "large-print", "message": VISITOR_TEXT},
        recipient="alt@example.gov.uk",
        document={"url": REQUEST["document_url"], "title": "Annual report", "type": "PDF", "size": "1MB"},
    )
    email = emails.acknowledgement(submission)
    assert email.subject == "We have received your request for an accessible format: NLC-ABCD-EF23"
    assert "Document: Annual report\nFormat: Large print\n" in email.text
    assert VISITOR_TEXT not in email.text
    team = emails.team_copy(submission)
    assert team.subject == "Accessible format request: NLC-ABCD-EF23"
    assert (
        "Document: Annual report\nWeb address: https://example.com/report.pdf\nFile: PDF, 1MB\n" in team.text
    )
    assert "Format needed: Large print\n" in team.text


# Retry policy ----------------------------------------------------------------------------


def test_each_failed_attempt_waits_longer_until_the_last():
    policy = RetryPolicy(delays=(60, 300, 900), claim_seconds=120)
    assert policy.max_attempts == 4
    assert [policy.next_attempt_at(attempts, now=1000.9) for attempts in (1, 2, 3)] == [1060, 1300, 1900]
    assert [policy.gives_up(attempts) for attempts in (1, 3, 4, 5)] == [False, False, True, True]
    assert policy.claim_expires_at(1000.9) == 1120


def test_the_default_policy_tries_for_about_two_days():
    policy = RetryPolicy()
    assert policy.max_attempts == 8
    assert 40 * 3600 < sum(policy.delays) < 48 * 3600
    assert list(policy.delays) == sorted(policy.delays)
    assert not policy.gives_up(7) and policy.gives_up(8)
