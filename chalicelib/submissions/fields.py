"""The two forms, each field declared once: its type and limits, its label,
its error messages in the GOV.UK Design System's style, and where it goes in
the team's email. Validation, the OpenAPI document, the error messages and
the email all read these declarations.

To add a field, add one line to a model below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal

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

from . import email_address
from .errors import FormInvalid

ENQUIRY = "enquiry"
ACCESSIBLE_FORMAT_REQUEST = "accessible-format-request"


@dataclass(frozen=True)
class Wording:
    """What a person reads about a field: its label, what to do when it is
    missing or wrong, and how the team's email shows it."""

    label: str
    missing: str = ""
    invalid: str = ""
    # A row `label: value` in the team's email; the message closes the
    # email; the document is shown as the document it names; hidden: never.
    in_email: Literal["row", "message", "document", "hidden"] = "row"
    email_label: str | None = None


class Format(StrEnum):
    """The formats a visitor can ask for, each with the words people read."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Format:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    AUDIO = ("audio", "Audio")
    BRAILLE = ("braille", "Braille")
    BSL = ("british-sign-language", "British Sign Language (BSL)")
    EASY_READ = ("easy-read", "Easy Read")
    LARGE_PRINT = ("large-print", "Large print")
    ACCESSIBLE_PDF = ("accessible-pdf", "Accessible PDF")
    OTHER = ("other", "Other")


# Anything that would break a line in a one-line field.
_NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Invisible control codes pasted along with text (a PDF's form feeds, say):
# dropped from multi-line fields, which keep their tabs and line breaks.
_PASTED_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Invisible format characters (Unicode category Cf) that can hide or reorder
# text: bidirectional controls such as U+202E, which make a name read
# backwards in the team's mail client, zero-width spaces, byte order marks,
# U+180E. The joiners U+200C and U+200D are kept: Persian, Indic scripts and
# emoji need them. A soft hyphen (U+00AD) only marks where a word may break:
# it is dropped everywhere.
_JOINERS = "\u200c\u200d"
_SOFT_HYPHEN = "\u00ad"


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) == "Cf" and char not in _JOINERS


def _without_hidden(text: str) -> str:
    return "".join(char for char in text if not _is_hidden(char))


def _drop_soft_hyphens(value: Any) -> Any:
    return value.replace(_SOFT_HYPHEN, "") if isinstance(value, str) else value


def _blank_as_absent(value: Any) -> Any:
    # HTML forms send every field, empty or not; hidden characters alone are empty too.
    return None if isinstance(value, str) and not _without_hidden(value).strip() else value


def _normalise_lines(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # Browsers send a textarea's line breaks as CRLF: count them as one.
    return _without_hidden(_PASTED_CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")))


def _one_line(value: str) -> str:
    if _NOT_ONE_LINE.search(value) or any(map(_is_hidden, value)):
        raise PydanticCustomError("one_line", "must be on one line")
    return value


def _email_address(value: str) -> str:
    try:
        return email_address.normalise(value)
    except email_address.NotAnAddress:
        raise PydanticCustomError("email", "not an email address") from None


_BLANK_IS_ABSENT = BeforeValidator(_blank_as_absent)
_SOFT_HYPHENS_DROPPED = BeforeValidator(_drop_soft_hyphens)
# One line of text, or several (a message), of at most so many characters.
Line200 = Annotated[str, _SOFT_HYPHENS_DROPPED, Field(max_length=200), AfterValidator(_one_line)]
Line500 = Annotated[str, _SOFT_HYPHENS_DROPPED, Field(max_length=500), AfterValidator(_one_line)]
Line2000 = Annotated[str, _SOFT_HYPHENS_DROPPED, Field(max_length=2000), AfterValidator(_one_line)]
Text5000 = Annotated[str, BeforeValidator(_normalise_lines), Field(max_length=5000)]
EmailAddress = Annotated[
    str,
    _SOFT_HYPHENS_DROPPED,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email_address),
]

_NAME = Wording("Name", "Enter your name")
_EMAIL = Wording(
    "Email address",
    "Enter your email address",
    "Enter an email address in the correct format, like name@example.com",
)
_MESSAGE = Wording("Message", "Enter your message", in_email="message")
_NAME_DESCRIPTION = "The visitor's name"
_EMAIL_DESCRIPTION = "The visitor's email address: replies go to it"
_MESSAGE_DESCRIPTION = "Up to 5,000 characters; line breaks are kept"


class Form(BaseModel):
    # Built on first use: a cold start builds the one form it is posted, not both.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, defer_build=True)

    website: Annotated[
        str | None,
        _BLANK_IS_ABSENT,
        Field(
            description="A honeypot, hidden from people, so only automated senders fill it in. A submission "
            "with it filled in is answered as usual, stored as spam and never sent."
        ),
        Wording("Website", in_email="hidden"),
    ] = None
    bot_field: Annotated[
        str | None,
        _BLANK_IS_ABSENT,
        Field(alias="bot-field", description="The same honeypot by the name Netlify's forms give it"),
        Wording("Bot field", in_email="hidden"),
    ] = None

    @property
    def is_spam(self) -> bool:
        return bool(self.website or self.bot_field)

    def fields(self) -> dict[str, str]:
        """What the visitor entered, as stored: every field given, as text."""
        return {
            name: value.value if isinstance(value, Enum) else value
            for name, value in self.model_dump(exclude=HONEYPOTS, exclude_none=True).items()
        }


# The honeypots, by field name; a form post or JSON gives `bot-field`.
HONEYPOTS = {"website", "bot_field"}


class EnquiryRequest(Form):
    """A question for the National Leadership Centre team."""

    name: Annotated[Line200, _BLANK_IS_ABSENT, Field(description=_NAME_DESCRIPTION), _NAME]
    email: Annotated[EmailAddress, _BLANK_IS_ABSENT, Field(description=_EMAIL_DESCRIPTION), _EMAIL]
    organisation: Annotated[
        Line200 | None,
        _BLANK_IS_ABSENT,
        Field(description="The visitor's organisation"),
        Wording("Organisation"),
    ] = None
    subject: Annotated[
        Line200 | None, _BLANK_IS_ABSENT, Field(description="What the enquiry is about"), Wording("Subject")
    ] = None
    message: Annotated[Text5000, _BLANK_IS_ABSENT, Field(description=_MESSAGE_DESCRIPTION), _MESSAGE]


class AccessibleFormatRequest(Form):
    """A request for a document or page in another format."""

    email: Annotated[EmailAddress, _BLANK_IS_ABSENT, Field(description=_EMAIL_DESCRIPTION), _EMAIL]
    name: Annotated[Line200 | None, _BLANK_IS_ABSENT, Field(description=_NAME_DESCRIPTION), _NAME] = None
    document_url: Annotated[
        Line2000,
        _BLANK_IS_ABSENT,
        Field(
            description="The document's URL as GET /documents lists it, or the URL or path of a page on the site"
        ),
        Wording(
            "Web address",
            "Enter the web address of the document or page you need",
            "Enter the web address of a document or page on the National Leadership Centre website, "
            "as it appears in your browser's address bar or the link to the document",
            in_email="document",
        ),
    ]
    format: Annotated[
        Format,
        _BLANK_IS_ABSENT,
        Field(description="The format needed"),
        Wording(
            "Format",
            "Select the format you need",
            "Select the format you need from the list",
            email_label="Format needed",
        ),
    ]
    other_format: Annotated[
        Line200 | None,
        _BLANK_IS_ABSENT,
        Field(description="The format needed, when `format` is `other`", validate_default=True),
        Wording("Other format", "Enter the format you need"),
    ] = None
    assistive_technology: Annotated[
        Line500 | None,
        _BLANK_IS_ABSENT,
        Field(description="Assistive technology the visitor uses"),
        Wording("Assistive technology"),
    ] = None
    message: Annotated[
        Text5000 | None, _BLANK_IS_ABSENT, Field(description=_MESSAGE_DESCRIPTION), _MESSAGE
    ] = None

    @field_validator("other_format")
    @classmethod
    def _needed_for_other(cls, value: str | None, info: ValidationInfo) -> str | None:
        chosen = info.data.get("format")
        if chosen == Format.OTHER and value is None:
            raise PydanticCustomError("missing", "needed when format is other")
        # Text left in the form's hidden "other" box is not the visitor's choice.
        return value if chosen == Format.OTHER else None


FORMS: dict[str, type[Form]] = {ENQUIRY: EnquiryRequest, ACCESSIBLE_FORMAT_REQUEST: AccessibleFormatRequest}
TYPE_LABELS = {ENQUIRY: "Enquiry", ACCESSIBLE_FORMAT_REQUEST: "Accessible format request"}


def wordings(kind: str) -> dict[str, Wording]:
    """Each field of a form and its wording, in the form's order."""
    found: dict[str, Wording] = {}
    for name, info in FORMS[kind].model_fields.items():
        wording = next((item for item in info.metadata if isinstance(item, Wording)), None)
        if wording is not None:
            found[name] = wording
    return found


def posted_names(kind: str) -> set[str]:
    """The names a form's fields are posted by."""
    return {info.alias or name for name, info in FORMS[kind].model_fields.items()}


NOT_A_FORM_FIELD = "Remove this field: the form does not have it"


def _field_message(wording: Wording | None, error: Any) -> str:
    kind = error["type"]
    if wording is None or kind == "extra_forbidden":
        return NOT_A_FORM_FIELD
    if kind in ("missing", "string_too_short") or error.get("input") is None:
        return wording.missing
    if kind in ("string_too_long", "too_long"):
        return f"{wording.label} must be {error['ctx']['max_length']:,} characters or fewer"
    if kind == "string_type":
        return f"{wording.label} must be text"
    if kind == "one_line":
        return f"{wording.label} must be on one line, with no line breaks or hidden characters"
    return wording.invalid or f"Check the {wording.label.lower()}"


def validate(kind: str, data: dict) -> Form:
    """The form's fields, validated; FormInvalid with every problem at once."""
    try:
        return FORMS[kind].model_validate(data)
    except ValidationError as error:
        known = wordings(kind)
        fields: dict[str, str] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            fields.setdefault(name, _field_message(known.get(name), problem))
        raise FormInvalid(fields) from None
