"""Enquiries and accessible-format requests: validated, stored, then sent.

A submission is written to the submissions table before anything is sent, so
a visitor's request survives an SES outage: the retry run sends whatever is
still pending. Whoever sends a submission first claims it with a conditional
write, so a request and a retry run, or two retry runs, never both send it.

    pk                                 sk  holds
    submission#<reference>             -   a submission: type, fields, status, attempts
    rate#<ip|email>#<digest>#<window>  -   requests counted in one rate-limit window
    idempotency#<type>#<digest>        -   the first answer to an Idempotency-Key

Every item expires by `expires_at`: a submission after the stage's retention
period, a counter after its window, an idempotency record after a day. Client
IPs, addresses and keys appear in keys only as SHA-256 digests.

A submission's status is `received` until the team's copy is sent
(`forwarded`); after the last failed attempt it is `failed`. A filled-in
honeypot makes it `spam`, stored but never sent.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from . import aws, observability, storage
from .http import ApiError, bad_request, not_found, service_unavailable
from .settings import get_settings

ENQUIRY = "enquiry"
ACCESSIBLE_FORMAT_REQUEST = "accessible-format-request"
TYPE_LABELS = {ENQUIRY: "Enquiry", ACCESSIBLE_FORMAT_REQUEST: "Accessible format request"}

RECEIVED, FORWARDED, FAILED, SPAM = "received", "forwarded", "failed", "spam"
STATUSES = (RECEIVED, FORWARDED, FAILED, SPAM)

# Waits after each failed attempt: quick at first for a blip, then spread
# over about two days for an outage. After the last, the status is `failed`.
RETRY_DELAYS = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A claim outlives any one delivery (two sends and a write, each bounded by
# the clients' timeouts), so only a sender that died leaves one to expire.
CLAIM_SECONDS = 300
IDEMPOTENCY_SECONDS = 24 * 3600
STORE_ATTEMPTS = 3
RETRY_AFTER_UNAVAILABLE = 30

FORMAT_LABELS = {
    "audio": "Audio",
    "braille": "Braille",
    "british-sign-language": "British Sign Language (BSL)",
    "easy-read": "Easy Read",
    "large-print": "Large print",
    "accessible-pdf": "Accessible PDF",
    "other": "Other",
}
Format = Literal[
    "audio", "braille", "british-sign-language", "easy-read", "large-print", "accessible-pdf", "other"
]

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
_REFERENCE = re.compile(rf"^NLC-[{_REFERENCE_ALPHABET}]{{4}}-[{_REFERENCE_ALPHABET}]{{4}}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# Anything that would break a line or hide itself in a one-line field.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Invisible control codes pasted along with text (a PDF's form feeds, say):
# dropped from multi-line fields, which keep their tabs and line breaks.
_PASTED_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_AWS_ERRORS = (ClientError, BotoCoreError)


# Request models ------------------------------------------------------------------


def _blank_as_absent(value: Any) -> Any:
    # HTML forms send every field, empty or not.
    return None if isinstance(value, str) and not value.strip() else value


def _normalise_lines(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # Browsers send a textarea's line breaks as CRLF: count them as one.
    return _PASTED_CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _one_line(value: str) -> str:
    if _NOT_ONE_LINE.search(value):
        raise PydanticCustomError("one_line", "must be on one line")
    return value


def _email_address(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        # SES sends only to ASCII addresses (domains in punycode); no DNS
        # lookups, which would slow every request and fail for typos alike.
        address = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise PydanticCustomError("email", "not an email address") from None
    return address.ascii_email


def _line(max_length: int) -> Any:
    return Annotated[str, Field(max_length=max_length), AfterValidator(_one_line)]


def _text(max_length: int) -> Any:
    return Annotated[str, BeforeValidator(_normalise_lines), Field(max_length=max_length)]


def _field(kind: Any, description: str, *, required: bool = True) -> Any:
    """A form field: blank counts as absent, so a required one left blank is
    missing and an optional one is None."""
    return Annotated[
        kind if required else kind | None,
        BeforeValidator(_blank_as_absent),
        Field(description=description),
    ]


_EMAIL = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_email_address)]
_EMAIL_DESCRIPTION = "The visitor's email address: replies go to it"
_NAME_DESCRIPTION = "The visitor's name"
_MESSAGE_DESCRIPTION = "Up to 5,000 characters; line breaks are kept"


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    website: _field(
        str,
        "A honeypot, hidden from people, so only automated senders fill it in. A submission "
        "with it filled in is answered as usual, stored as spam and never sent.",
        required=False,
    ) = None


class EnquiryRequest(_Form):
    """A question for the National Leadership Centre team."""

    name: _field(_line(200), _NAME_DESCRIPTION)
    email: _field(_EMAIL, _EMAIL_DESCRIPTION)
    organisation: _field(_line(200), "The visitor's organisation", required=False) = None
    subject: _field(_line(200), "What the enquiry is about", required=False) = None
    message: _field(_text(5000), _MESSAGE_DESCRIPTION)


class AccessibleFormatRequest(_Form):
    """A request for a document or page in another format."""

    email: _field(_EMAIL, _EMAIL_DESCRIPTION)
    name: _field(_line(200), _NAME_DESCRIPTION, required=False) = None
    document_url: _field(
        _line(2000),
        "The document's URL as GET /documents lists it, or the URL or path of a page on the site",
    )
    format: _field(Format, "The format needed")
    other_format: _field(_line(200), "The format needed, when `format` is `other`", required=False) = Field(
        None, validate_default=True
    )
    assistive_technology: _field(_line(500), "Assistive technology the visitor uses", required=False) = None
    message: _field(_text(5000), _MESSAGE_DESCRIPTION, required=False) = None

    @field_validator("other_format")
    @classmethod
    def _needed_for_other(cls, value: str | None, info: ValidationInfo) -> str | None:
        chosen = info.data.get("format")
        if chosen == "other" and value is None:
            raise PydanticCustomError("missing", "needed when format is other")
        # Text left in the form's hidden "other" box is not the visitor's choice.
        return value if chosen == "other" else None


MODELS: dict[str, type[_Form]] = {ENQUIRY: EnquiryRequest, ACCESSIBLE_FORMAT_REQUEST: AccessibleFormatRequest}


@dataclass(frozen=True)
class _Wording:
    label: str
    missing: str = ""
    invalid: str = ""


# Error messages in the GOV.UK Design System's style: say what to do.
_WORDING = {
    "name": _Wording("Name", "Enter your name"),
    "email": _Wording(
        "Email address",
        "Enter your email address",
        "Enter an email address in the correct format, like name@example.com",
    ),
    "organisation": _Wording("Organisation"),
    "subject": _Wording("Subject"),
    "message": _Wording("Message", "Enter your message"),
    "document_url": _Wording(
        "Web address",
        "Enter the web address of the document or page you need",
        "Enter the web address of a document or page on the National Leadership Centre website, "
        "as it appears in your browser's address bar or the link to the document",
    ),
    "format": _Wording("Format", "Select the format you need", "Select the format you need from the list"),
    "other_format": _Wording("Other format", "Enter the format you need"),
    "assistive_technology": _Wording("Assistive technology"),
    "website": _Wording("Website"),
}
_NOT_A_FORM_FIELD = "Remove this field: the form does not have it"
UNKNOWN_DOCUMENT = (
    "We cannot find a document or page at that web address on our website. "
    "Check the address, or copy it from the link to the document"
)


def _field_message(name: str, error: dict) -> str:
    wording = _WORDING.get(name)
    kind = error["type"]
    if wording is None or kind == "extra_forbidden":
        return _NOT_A_FORM_FIELD
    if kind in ("missing", "string_too_short") or error.get("input") is None:
        return wording.missing
    if kind in ("string_too_long", "too_long"):
        return f"{wording.label} must be {error['ctx']['max_length']:,} characters or fewer"
    if kind == "string_type":
        return f"{wording.label} must be text"
    if kind == "one_line":
        return f"{wording.label} must be on one line, with no line breaks or hidden characters"
    return wording.invalid or f"Check the {wording.label.lower()}"


def validation_error(fields: dict[str, str]) -> ApiError:
    return ApiError(400, "validation_error", "There is a problem with what was entered", fields=fields)


def _validated(kind: str, data: dict) -> _Form:
    try:
        return MODELS[kind].model_validate(data)
    except ValidationError as error:
        fields: dict[str, str] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            fields.setdefault(name, _field_message(name, problem))
        raise validation_error(fields) from None


# The submission -----------------------------------------------------------------


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_reference() -> str:
    """A reference a visitor can read out: NLC- and 8 characters (40 bits)."""
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"NLC-{chars[:4]}-{chars[4:]}"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": storage.DETAIL}}


def _submission_key(reference: str) -> dict:
    return _key(f"submission#{reference}")


@dataclass
class Submission:
    reference: str
    type: str
    created_at: str
    fields: dict[str, str]
    recipient: str
    document: dict | None = None
    status: str = RECEIVED
    attempts: int = 0
    last_error: str | None = None
    forwarded_at: str | None = None
    acknowledged_at: str | None = None

    @property
    def type_label(self) -> str:
        return TYPE_LABELS[self.type]

    @property
    def email(self) -> str:
        return self.fields["email"]

    @property
    def message(self) -> str | None:
        return self.fields.get("message")

    @property
    def format_label(self) -> str | None:
        return FORMAT_LABELS.get(self.fields.get("format", ""))

    @property
    def document_label(self) -> str:
        return "Document" if self.document and self.document.get("type") else "Page"

    def details(self) -> list[tuple[str, str]]:
        """Every field but the message, labelled, in the form's order."""
        rows: list[tuple[str, str]] = []
        if self.document:
            document = self.document
            rows.append((self.document_label, document["title"]))
            rows.append(("Web address", document["url"]))
            file = ", ".join(
                filter(None, [document.get("type"), document.get("size"), _pages(document.get("pages"))])
            )
            if file:
                rows.append(("File", file))
            for page in document.get("linked_from", []):
                rows.append(("Linked from", f"{page['title']} ({page['path']})"))
        for name, wording in _WORDING.items():
            value = self.fields.get(name)
            if name in ("document_url", "message") or value is None:
                continue
            rows.append(("Format needed", self.format_label) if name == "format" else (wording.label, value))
        return rows

    def to_item(self) -> dict:
        item = {
            **_submission_key(self.reference),
            "reference": {"S": self.reference},
            "type": {"S": self.type},
            "created_at": {"S": self.created_at},
            "status": {"S": self.status},
            "fields": {"S": json.dumps(self.fields, ensure_ascii=False)},
            "recipient": {"S": self.recipient},
            "attempts": {"N": str(self.attempts)},
        }
        if self.document:
            item["document"] = {"S": json.dumps(self.document, ensure_ascii=False)}
        return item

    @classmethod
    def from_item(cls, item: dict) -> "Submission":
        def text(name: str) -> str | None:
            return item[name]["S"] if name in item else None

        return cls(
            reference=item["reference"]["S"],
            type=item["type"]["S"],
            created_at=item["created_at"]["S"],
            fields=json.loads(item["fields"]["S"]),
            recipient=item["recipient"]["S"],
            document=json.loads(item["document"]["S"]) if "document" in item else None,
            status=item["status"]["S"],
            attempts=int(item["attempts"]["N"]),
            last_error=text("last_error"),
            forwarded_at=text("forwarded_at"),
            acknowledged_at=text("acknowledged_at"),
        )

    def view(self) -> dict:
        """What staff see: everything stored, personal data included."""
        return {
            "reference": self.reference,
            "type": self.type,
            "status": self.status,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "forwarded_at": self.forwarded_at,
            "acknowledged_at": self.acknowledged_at,
            "recipient": self.recipient,
            "document": self.document,
            "fields": self.fields,
        }


def _pages(count: int | None) -> str | None:
    if count is None:
        return None
    return f"{count} page" if count == 1 else f"{count} pages"


def _log(event: str, reference: str, status: str, **extra: Any) -> None:
    """One JSON line per event: reference, status and AWS error codes only,
    never what the visitor entered."""
    observability.emit({"type": "submission", "event": event, "reference": reference, "status": status, **extra})


_NOT_SAVED = "We could not save your request just now, so nothing has been sent. Try again in a few minutes."
_STAFF_UNAVAILABLE = "The submissions table cannot be reached just now. Try again in a few minutes."


def _unavailable(error: Exception, message: str = _NOT_SAVED) -> ApiError:
    _log("storage_unavailable", "-", "-", error=aws.error_code(error))
    return service_unavailable(message, retry_after=RETRY_AFTER_UNAVAILABLE)


# Finding the document --------------------------------------------------------


def _site_url(value: str) -> tuple[storage.Key, str] | None:
    """The content item behind a URL the site publishes, and the URL in full;
    None for a URL the site cannot hold.

    A file (a name with an extension other than .html) is a document, keyed
    by its URL exactly as the site links it; anything else is a page, which
    must be on one of the site's origins."""
    origins = get_settings().site_origins
    value = value.split("#", 1)[0]
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed [ in the host, say
        return None
    if parts.scheme in ("http", "https") and parts.netloc:
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        on_site = origin in {known.lower() for known in origins}
        full = value
    elif value.startswith("/") and not value.startswith("//"):
        origin, on_site = (origins[0] if origins else ""), True
        full = origin + value
    else:
        return None
    name = parts.path.rsplit("/", 1)[-1]
    if "." in name and not name.lower().endswith((".html", ".htm")):
        return storage.document_key(value), full
    if not on_site:
        return None
    try:
        path = storage.normalise_path(parts.path or "/")
    except ApiError:
        return None
    return storage.path_key(path), origin + path


def _resolve_document(url: str) -> tuple[dict, str]:
    """The document or page a request names, and the mailbox it goes to."""
    found = _site_url(url)
    item = None
    if found is not None:
        try:
            item = aws.dynamodb().get_item(
                TableName=get_settings().content_table,
                Key={"pk": {"S": found[0][0]}, "sk": {"S": found[0][1]}},
            ).get("Item")
        except _AWS_ERRORS as error:
            raise _unavailable(error) from None
    if item is None:
        raise validation_error({"document_url": UNKNOWN_DOCUMENT})
    record = json.loads(item["json"]["S"]) if "json" in item else {}  # a redirect has none
    document = {"url": found[1], "title": record.get("title") or found[1]}
    if found[0][0] == storage.document_key("")[0]:
        # Only a document has a file type; a page's front matter may say anything.
        document.update({name: record[name] for name in ("type", "size", "pages", "linked_from") if record.get(name)})
    return document, record.get("alternative_format_contact") or get_settings().accessible_format_mailbox


# Accepting a submission ------------------------------------------------------


@dataclass(frozen=True)
class Receipt:
    reference: str


def submit(kind: str, data: dict, *, client_ip: str, idempotency_key: str | None = None) -> Receipt:
    """Validate, store and send one submission.

    Bad input raises a 400 before any AWS call. Once stored, the visitor's
    answer is a receipt whatever SES does: a failed send is retried later.
    """
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters, like a UUID.")
    form = _validated(kind, data)
    fields = form.model_dump(exclude={"website"}, exclude_none=True)
    settings = get_settings()
    document, recipient = None, settings.enquiries_mailbox
    if isinstance(form, AccessibleFormatRequest):
        document, recipient = _resolve_document(form.document_url)
    now = time.time()
    submission = Submission(
        reference=new_reference(),
        type=kind,
        created_at=_iso(now),
        fields=fields,
        recipient=recipient,
        document=document,
        status=SPAM if form.website else RECEIVED,
    )
    claim = secrets.token_hex(16)
    request_digest = _digest(json.dumps(data, sort_keys=True, ensure_ascii=False))
    try:
        earlier = _store(submission, claim, now, client_ip, idempotency_key, request_digest)
    except _AWS_ERRORS as error:
        raise _unavailable(error) from None
    if earlier is not None:
        _log("replayed", earlier, "-")
        return Receipt(earlier)
    _log("stored", submission.reference, submission.status)
    if submission.status == RECEIVED:
        _deliver(submission, claim)
    return Receipt(submission.reference)


def _store(
    submission: Submission,
    claim: str,
    now: float,
    client_ip: str,
    idempotency_key: str | None,
    request_digest: str,
) -> str | None:
    """Store the submission, count it against both rate limits and record its
    Idempotency-Key, all or nothing, in one transaction.

    Returns the reference of the earlier request that used the same key, if
    any (then nothing is written). The submission is stored already claimed
    by this request, so a retry run leaves it alone while it is being sent.
    """
    settings = get_settings()
    table = settings.submissions_table
    window = settings.rate_limit_window_seconds
    window_start = int(now // window * window)
    window_end = window_start + window
    for _attempt in range(STORE_ATTEMPTS):
        item = {
            **submission.to_item(),
            "next_attempt_at": {"N": str(int(now))},
            "expires_at": {"N": str(int(now) + settings.retention_days * 86400)},
        }
        if submission.status == RECEIVED:
            item.update({"claim": {"S": claim}, "claim_expires_at": {"N": str(int(now) + CLAIM_SECONDS)}})
        actions: list[dict] = [
            {"Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}
        ]
        for scope, value, limit in (
            ("ip", client_ip, settings.rate_limit_per_ip),
            ("email", submission.email.casefold(), settings.rate_limit_per_email),
        ):
            actions.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": _key(f"rate#{scope}#{_digest(value)}#{window_start}"),
                        "UpdateExpression": "ADD #count :one SET expires_at = :expires",
                        # A limit of 0 turns the form off.
                        "ConditionExpression": "(attribute_not_exists(#count) AND :one <= :limit) "
                        "OR #count < :limit",
                        "ExpressionAttributeNames": {"#count": "count"},
                        "ExpressionAttributeValues": {
                            ":one": {"N": "1"},
                            ":limit": {"N": str(limit)},
                            ":expires": {"N": str(window_end)},
                        },
                    }
                }
            )
        if idempotency_key is not None:
            actions.append(
                {
                    "Put": {
                        "TableName": table,
                        "Item": {
                            **_key(f"idempotency#{submission.type}#{_digest(idempotency_key)}"),
                            "reference": {"S": submission.reference},
                            "request": {"S": request_digest},
                            "expires_at": {"N": str(int(now) + IDEMPOTENCY_SECONDS)},
                        },
                        # TTL deletes late: an expired record counts as gone.
                        "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                        "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                }
            )
        try:
            aws.dynamodb().transact_write_items(TransactItems=actions)
            return None
        except ClientError as error:
            if aws.error_code(error) != "TransactionCanceledException":
                raise
            cancelled = error
        reasons = cancelled.response.get("CancellationReasons", [])
        codes = [reason.get("Code") for reason in reasons]
        if idempotency_key is not None and codes[-1:] == ["ConditionalCheckFailed"]:
            return _replay(reasons[-1].get("Item", {}), request_digest)
        if "ConditionalCheckFailed" in codes[1:3]:
            raise _rate_limited(submission.type, window_end - int(now))
        if codes[:1] == ["ConditionalCheckFailed"]:
            submission.reference = new_reference()  # 40 bits collided: draw again
        elif "TransactionConflict" not in codes:
            raise cancelled
    raise cancelled


def _replay(earlier: dict, request_digest: str) -> str:
    if earlier.get("request", {}).get("S") != request_digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was sent before with a different request. "
            "Use a new key for each new request.",
        )
    return earlier["reference"]["S"]


def _rate_limited(kind: str, retry_after: int) -> ApiError:
    settings = get_settings()
    mailbox = settings.enquiries_mailbox if kind == ENQUIRY else settings.accessible_format_mailbox
    minutes = max(1, math.ceil(retry_after / 60))
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return ApiError(
        429,
        "too_many_requests",
        f"You have sent too many requests in a short time. Try again in {wait}, "
        f"or email {mailbox} if it cannot wait.",
        headers={"Retry-After": str(max(1, retry_after))},
    )


# Sending -------------------------------------------------------------------------


def _deliver(submission: Submission, claim: str) -> str:
    """Send a claimed submission to its team, then acknowledge it to the
    visitor; record the outcome and release the claim. Returns the status.

    The acknowledgement is sent once, after the team's copy: if it fails, the
    visitor still has the reference on screen and the team can reply.
    """
    from . import mail

    try:
        mail.send(mail.team_copy(submission))
    except _AWS_ERRORS as error:
        return _record_failed_attempt(submission, claim, aws.error_code(error))
    now = time.time()
    changes: dict[str, Any] = {"status": FORWARDED, "forwarded_at": _iso(now), "last_error": None}
    if get_settings().send_acknowledgements and submission.acknowledged_at is None:
        try:
            mail.send(mail.acknowledgement(submission))
            changes["acknowledged_at"] = _iso(time.time())
        except _AWS_ERRORS as error:
            _log("acknowledgement_failed", submission.reference, FORWARDED, error=aws.error_code(error))
    _release(submission, claim, changes, "forwarded")
    return FORWARDED


def _record_failed_attempt(submission: Submission, claim: str, error_code: str) -> str:
    """The one place a failed send to the team is recorded and logged."""
    attempts = submission.attempts + 1
    gave_up = attempts >= MAX_ATTEMPTS
    status = FAILED if gave_up else RECEIVED
    changes: dict[str, Any] = {"status": status, "attempts": attempts, "last_error": error_code}
    if not gave_up:
        changes["next_attempt_at"] = int(time.time()) + RETRY_DELAYS[attempts - 1]
    _release(submission, claim, changes, "send_failed", error=error_code, attempts=attempts)
    if gave_up:
        observability.count_failed_forward(submission.type)
    return status


def _release(submission: Submission, claim: str, changes: dict[str, Any], event: str, **log: Any) -> None:
    """Write a delivery's outcome and drop the claim, if this sender still
    holds it, then log the event. A failure to write is logged, not raised:
    the claim then expires and the retry run picks the submission up."""
    names = {"#claim": "claim", "#claim_expires_at": "claim_expires_at"}
    values: dict[str, dict] = {":claim": {"S": claim}}
    sets, removes = [], ["#claim", "#claim_expires_at"]
    for name, value in changes.items():
        names[f"#{name}"] = name
        if value is None:
            removes.append(f"#{name}")
        else:
            values[f":{name}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#{name} = :{name}")
    try:
        aws.dynamodb().update_item(
            TableName=get_settings().submissions_table,
            Key=_submission_key(submission.reference),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="#claim = :claim",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except _AWS_ERRORS as error:
        _log(f"{event}.not_recorded", submission.reference, changes["status"], error=aws.error_code(error), **log)
        return
    for name, value in changes.items():
        if name in Submission.__dataclass_fields__:
            setattr(submission, name, value)
    _log(event, submission.reference, changes["status"], **log)


def _claim(reference: str, now: float, statuses: tuple[str, ...], due_only: bool) -> tuple[Submission, str] | dict:
    """Claim a submission for sending with one conditional write. Returns it
    and the claim, or, if someone else holds it or its status does not
    allow sending, the item as it stands (empty if there is none)."""
    claim = secrets.token_hex(16)
    condition = "#status IN ({}) AND (attribute_not_exists(#lease) OR #lease < :now)".format(
        ", ".join(f":s{index}" for index in range(len(statuses)))
    )
    if due_only:
        condition += " AND #due <= :now"
    try:
        response = aws.dynamodb().update_item(
            TableName=get_settings().submissions_table,
            Key=_submission_key(reference),
            UpdateExpression="SET #status = :received, #claim = :claim, #lease = :lease",
            ConditionExpression=condition,
            ExpressionAttributeNames={
                "#status": "status",
                "#claim": "claim",
                "#lease": "claim_expires_at",
                **({"#due": "next_attempt_at"} if due_only else {}),
            },
            ExpressionAttributeValues={
                ":received": {"S": RECEIVED},
                ":claim": {"S": claim},
                ":lease": {"N": str(int(now) + CLAIM_SECONDS)},
                ":now": {"N": str(int(now))},
                **{f":s{index}": {"S": status} for index, status in enumerate(statuses)},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        return error.response.get("Item", {})
    return Submission.from_item(response["Attributes"]), claim


# The retry run and staff tools --------------------------------------------------


@dataclass
class RetryReport:
    forwarded: list[str] = field(default_factory=list)
    will_retry: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.forwarded)} forwarded, {len(self.will_retry)} to try again later, "
            f"{len(self.failed)} failed for good, {len(self.skipped)} being sent elsewhere (skipped)."
        )


def _items_with_status(status: str) -> list[dict]:
    items: list[dict] = []
    extra: dict[str, Any] = {}
    while True:
        response = aws.dynamodb().query(
            TableName=get_settings().submissions_table,
            IndexName="by-status",
            KeyConditionExpression="#status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": status}},
            **extra,
        )
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return items
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def retry_pending(*, ignore_backoff: bool = False, now: float | None = None) -> RetryReport:
    """Send every submission still `received` whose next attempt is due (or
    all of them, with ignore_backoff). Each is claimed before it is sent:
    one that another run or request holds is skipped, never sent twice."""
    now = time.time() if now is None else now
    report = RetryReport()
    for item in _items_with_status(RECEIVED):
        # The index is eventually consistent: the claim re-checks on the table.
        if not ignore_backoff and int(item.get("next_attempt_at", {}).get("N", "0")) > now:
            continue
        reference = item["reference"]["S"]
        try:
            claimed = _claim(reference, now, (RECEIVED,), due_only=not ignore_backoff)
        except _AWS_ERRORS as error:
            _log("claim_failed", reference, RECEIVED, error=aws.error_code(error))
            continue
        if isinstance(claimed, dict):
            report.skipped.append(reference)
            continue
        status = _deliver(*claimed)
        {FORWARDED: report.forwarded, RECEIVED: report.will_retry, FAILED: report.failed}[status].append(
            reference
        )
    return report


def retry_submission(reference: str) -> dict:
    """Send one submission now, for staff: one still pending, one that
    failed for good, or one taken for spam. Returns it as list_submissions
    does; a forwarded one is never sent again."""
    if not _REFERENCE.match(reference):
        raise not_found(f"There is no submission with reference {reference}.")
    try:
        claimed = _claim(reference, time.time(), (RECEIVED, FAILED, SPAM), due_only=False)
    except _AWS_ERRORS as error:
        raise _unavailable(error, _STAFF_UNAVAILABLE) from None
    if isinstance(claimed, dict):
        if not claimed:
            raise not_found(f"There is no submission with reference {reference}.")
        if claimed["status"]["S"] == FORWARDED:
            raise ApiError(409, "already_forwarded", f"{reference} was forwarded already: it is not sent twice.")
        raise ApiError(409, "being_sent", f"{reference} is being sent right now: check it again in a few minutes.")
    submission, claim = claimed
    _deliver(submission, claim)
    return submission.view()


def list_submissions(status: str) -> list[dict]:
    """Every submission with a status, oldest first, as staff see them."""
    if status not in STATUSES:
        raise bad_request(f"status must be one of {', '.join(STATUSES)}.")
    try:
        return [Submission.from_item(item).view() for item in _items_with_status(status)]
    except _AWS_ERRORS as error:
        raise _unavailable(error, _STAFF_UNAVAILABLE) from None
