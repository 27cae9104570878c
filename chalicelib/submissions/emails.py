"""The emails a submission makes, as pure functions: the team's copy and
the visitor's acknowledgement, both plain text. `ses.py` sends them.

Only SES's Simple content is used, so SES builds every header from
structured fields, and none of those fields holds free text a visitor typed:
recipients come from the stage's settings or the published document, the
sender from the settings, the subject from the submission's type and
reference. The one visitor value in a header is Reply-To, an address that
validation has reduced to a single bare ASCII address. The acknowledgement
repeats nothing the visitor typed either, so the form cannot be used to
send someone else a message of a stranger's choosing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .forms import ACCESSIBLE_FORMAT_REQUEST, ENQUIRY
from .submission import Submission

ORGANISATION = "the National Leadership Centre"


@dataclass(frozen=True)
class Email:
    to: str
    reply_to: str
    subject: str
    text: str


def _received(submission: Submission) -> str:
    # created_at is ISO 8601 UTC with milliseconds: 2024-05-01T09:30:12.345Z
    return f"{submission.created_at[:10]} at {submission.created_at[11:16]} UTC"


def team_copy(submission: Submission) -> Email:
    """The submission for the team, with every field; replying answers the visitor."""
    lines = [
        f"{submission.type_label} from the National Leadership Centre website",
        "",
        f"Reference: {submission.reference}",
        f"Received: {_received(submission)}",
        "",
        *(f"{label}: {value}" for label, value in submission.details()),
    ]
    if submission.message:
        lines += ["", "Message:", submission.message]
    lines += [
        "",
        "--",
        f"Reply to this email to answer {submission.email}. "
        f"Keep the reference {submission.reference} in the subject.",
    ]
    return Email(
        to=submission.recipient,
        reply_to=submission.email,
        subject=f"{submission.type_label}: {submission.reference}",
        text="\n".join(lines) + "\n",
    )


_NEXT_STEPS = {
    ENQUIRY: [
        "What happens next",
        "",
        f"Someone from {ORGANISATION} will read your enquiry and reply to this email address.",
    ],
    ACCESSIBLE_FORMAT_REQUEST: [
        "What happens next",
        "",
        "Our correspondence team will reply to this email address to tell you when you can expect "
        "the document in the format you asked for, and to ask for anything else they need, such as "
        "a postal address for braille or large print.",
    ],
}


def acknowledgement(submission: Submission) -> Email:
    """The visitor's confirmation: the reference and what happens next, and
    nothing they typed."""
    what = "your enquiry" if submission.type == ENQUIRY else "your request for an accessible format"
    lines = [
        f"Thank you. We have received {what}.",
        "",
        f"Your reference is {submission.reference}",
        "",
    ]
    if submission.document:
        lines += [
            f"{submission.document_label}: {submission.document['title']}",
            f"Format: {submission.format_label}",
            "",
        ]
    lines += [
        *_NEXT_STEPS[submission.type],
        "",
        "If you need to contact us about this, reply to this email and keep the reference in the subject.",
        "",
        "If you did not send this, you can ignore this email.",
        "",
        "National Leadership Centre",
    ]
    return Email(
        to=submission.email,
        reply_to=submission.recipient,
        subject=f"We have received {what}: {submission.reference}",
        text="\n".join(lines) + "\n",
    )
