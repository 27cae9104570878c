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


class SendFailed(Exception):
    """SES did not take the message, or may have: `unknown` (a timeout, a
    dropped connection, SES's own fault), when `code` says so too
    ("outcome unknown: ReadTimeoutError"). `permanent`: trying again will
    not help until someone mends the fault."""

    def __init__(self, code: str, *, permanent: bool, unknown: bool) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent
        self.unknown = unknown


def send(email: Email) -> str:
    """Send one email; returns SES's message id."""
    try:
        response = aws.ses().send_email(
            FromEmailAddress=get_settings().sender,
            # Its events (delivered, bounced...) come back through EventBridge.
            ConfigurationSetName=configuration_set(get_settings()),
            Destination={"ToAddresses": [email.to]},
            ReplyToAddresses=[email.reply_to],
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}},
                }
            },
        )
    except aws.errors() as error:
        permanent = aws.error_code(error) in _PERMANENT or not aws.is_transient(error)
        raise SendFailed(
            aws.describe(error), permanent=permanent, unknown=aws.outcome_unknown(error)
        ) from error
    return str(response["MessageId"])
