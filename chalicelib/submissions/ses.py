"""Sending by SES (v2), and what its errors mean for a submission.

Only SES's Simple content is used, so SES builds every header from
structured fields (see emails.py for what goes in them). The client makes no
retries of its own: SES may have accepted a message whose answer was lost,
and only a claimed attempt, recorded before and after, may send again.
"""

from __future__ import annotations

from .. import aws
from ..names import configuration_set
from ..settings import get_settings
from .emails import Email

# Refusals that will not change by trying again: the fault must be mended.
_PERMANENT = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "MailFromDomainNotVerified",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "InvalidParameterValue",
    "ValidationException",
    "NotFoundException",
}


# Every email is tagged with its submission and which of its emails it is,
# so SES's events about it (its Send event above all) name them.
REFERENCE_TAG = "nlc-reference"
COPY_TAG = "nlc-copy"


class SendFailed(Exception):
    """SES did not take the message, or may have: `unknown` (a timeout, a
    dropped connection), when `code` says so too ("outcome unknown:
    ReadTimeoutError"). SES answering 5xx or throttling took nothing.
    `permanent`: trying again will not help until someone mends the fault."""

    def __init__(self, code: str, *, permanent: bool, unknown: bool) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.unknown = unknown


def send(email: Email, *, reference: str, copy: str) -> str:
    """Send one email of a submission (`copy`: team, acknowledgement);
    returns SES's message id."""
    try:
        response = aws.ses().send_email(
            FromEmailAddress=get_settings().sender,
            # Its events (delivered, bounced...) come back through EventBridge.
            ConfigurationSetName=configuration_set(get_settings()),
            Destination={"ToAddresses": [email.to]},
            ReplyToAddresses=[email.reply_to],
            EmailTags=[{"Name": REFERENCE_TAG, "Value": reference}, {"Name": COPY_TAG, "Value": copy}],
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
                }
            },
        )
    except aws.errors() as error:
        permanent = aws.error_code(error) in _PERMANENT or not aws.is_transient(error)
        # SES sends a message only once it has answered that it took it: an
        # answer, even a 5xx, means nothing was sent; only a lost one is unknown.
        unknown = aws.answer_lost(error)
        raise SendFailed(
            aws.describe(error, unknown=unknown), permanent=permanent, unknown=unknown
        ) from error
    return str(response["MessageId"])
