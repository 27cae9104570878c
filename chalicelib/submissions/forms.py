"""The two forms, each field declared once: its kind and limit, whether it
is needed, its label, its error messages in the GOV.UK Design System's
style, and where it goes in the team's email. The check a form post gets,
the OpenAPI document's schemas (fields.py builds the pydantic models from
these declarations), the error messages and the email all read them.

To add a field, add one line to a form below.

The check is plain Python, not the pydantic models: importing pydantic and
building a model took 45 ms of a form post's cold start, most of what kept
it above a bare function's (docs/performance.md). It does what the models do,
step for step, with the same functions: tests/unit/test_forms.py holds it to
them, field by field and over generated posts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from . import email_address
from .errors import FormInvalid

ENQUIRY = "enquiry"
ACCESSIBLE_FORMAT_REQUEST = "accessible-format-request"
TYPE_LABELS = {ENQUIRY: "Enquiry", ACCESSIBLE_FORMAT_REQUEST: "Accessible format request"}


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


# The kinds of field: one line of text; several lines (a message); an email
# address; one of the formats; a honeypot, hidden from people.
LINE, TEXT, EMAIL, FORMAT, HONEYPOT = "line", "text", "email", "format", "honeypot"
# The one field with a rule of its own: needed when `format` is `other`
# (other_format_chosen).
OTHER_FORMAT = "other_format"
MAX_EMAIL_LENGTH = 254


class Field:
    """One field of a form."""

    __slots__ = ("alias", "description", "kind", "limit", "name", "needed", "wording")

    def __init__(
        self,
        name: str,
        kind: str,
        wording: Wording,
        description: str,
        *,
        limit: int | None = None,
        needed: bool = False,
        alias: str | None = None,
    ) -> None:
        self.name, self.kind, self.wording, self.description = name, kind, wording, description
        self.limit = MAX_EMAIL_LENGTH if kind == EMAIL else limit
        self.needed, self.alias = needed, alias

    @property
    def posted_as(self) -> str:
        return self.alias or self.name


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
_HONEYPOTS = (
    Field(
        "website",
        HONEYPOT,
        Wording("Website", in_email="hidden"),
        "A honeypot, hidden from people, so only automated senders fill it in. A submission "
        "with it filled in is answered as usual, stored as spam and never sent.",
    ),
    Field(
        "bot_field",
        HONEYPOT,
        Wording("Bot field", in_email="hidden"),
        "The same honeypot by the name Netlify's forms give it",
        alias="bot-field",
    ),
)
# The honeypots, by field name; a form post or JSON gives `bot-field`.
HONEYPOTS = {field.name for field in _HONEYPOTS}

FORMS: dict[str, tuple[Field, ...]] = {
    ENQUIRY: (
        *_HONEYPOTS,
        Field("name", LINE, _NAME, _NAME_DESCRIPTION, limit=200, needed=True),
        Field("email", EMAIL, _EMAIL, _EMAIL_DESCRIPTION, needed=True),
        Field("organisation", LINE, Wording("Organisation"), "The visitor's organisation", limit=200),
        Field("subject", LINE, Wording("Subject"), "What the enquiry is about", limit=200),
        Field("message", TEXT, _MESSAGE, _MESSAGE_DESCRIPTION, limit=5000, needed=True),
    ),
    ACCESSIBLE_FORMAT_REQUEST: (
        *_HONEYPOTS,
        Field("email", EMAIL, _EMAIL, _EMAIL_DESCRIPTION, needed=True),
        Field("name", LINE, _NAME, _NAME_DESCRIPTION, limit=200),
        Field(
            "document_url",
            LINE,
            Wording(
                "Web address",
                "Enter the web address of the document or page you need",
                "Enter the web address of a document or page on the National Leadership Centre website, "
                "as it appears in your browser's address bar or the link to the document",
                in_email="document",
            ),
            "The document's URL as GET /documents lists it, or the URL or path of a page on the site",
            limit=2000,
            needed=True,
        ),
        Field(
            "format",
            FORMAT,
            Wording(
                "Format",
                "Select the format you need",
                "Select the format you need from the list",
                email_label="Format needed",
            ),
            "The format needed",
            needed=True,
        ),
        Field(
            OTHER_FORMAT,
            LINE,
            Wording("Other format", "Enter the format you need"),
            "The format needed, when `format` is `other`",
            limit=200,
        ),
        Field(
            "assistive_technology",
            LINE,
            Wording("Assistive technology"),
            "Assistive technology the visitor uses",
            limit=500,
        ),
        Field("message", TEXT, _MESSAGE, _MESSAGE_DESCRIPTION, limit=5000),
    ),
}
DESCRIPTIONS = {
    ENQUIRY: "A question for the National Leadership Centre team.",
    ACCESSIBLE_FORMAT_REQUEST: "A request for a document or page in another format.",
}


def wordings(kind: str) -> dict[str, Wording]:
    """Each field of a form and its wording, in the form's order."""
    return {field.name: field.wording for field in FORMS[kind]}


def posted_names(kind: str) -> set[str]:
    """The names a form's fields are posted by."""
    return {field.posted_as for field in FORMS[kind]}


# Text rules, the same for the check and the models -------------------------------

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
# What surrounding white space the models strip (pydantic's
# str_strip_whitespace, which strips Unicode's White_Space characters).
_WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(
    map(chr, range(0x2000, 0x200B))
)


class Refused(ValueError):
    """What is wrong with a value, by the type of pydantic error it is, and
    the value as the refusing step saw it."""

    def __init__(self, kind: str, given: Any = None) -> None:
        super().__init__(kind)
        self.kind, self.given = kind, given


def _is_hidden(char: str) -> bool:
    return unicodedata.category(char) == "Cf" and char not in _JOINERS


def _without_hidden(text: str) -> str:
    return "".join(char for char in text if not _is_hidden(char))


def drop_soft_hyphens(value: Any) -> Any:
    return value.replace(_SOFT_HYPHEN, "") if isinstance(value, str) else value


def blank_as_absent(value: Any) -> Any:
    # HTML forms send every field, empty or not; hidden characters alone are empty too.
    return None if isinstance(value, str) and not _without_hidden(value).strip() else value


def normalise_lines(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    # Browsers send a textarea's line breaks as CRLF: count them as one.
    return _without_hidden(_PASTED_CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n")))


def one_line(value: str) -> str:
    if _NOT_ONE_LINE.search(value) or any(map(_is_hidden, value)):
        raise Refused("one_line", value)
    return value


def address(value: str) -> str:
    try:
        return email_address.normalise(value)
    except email_address.NotAnAddress:
        raise Refused("email", value) from None


def other_format_chosen(chosen: Any, value: str | None) -> str | None:
    """Other format is needed when `other` is chosen, and text left in the
    form's hidden "other" box is not the visitor's choice otherwise."""
    if chosen == Format.OTHER and value is None:
        raise Refused("missing")
    return value if chosen == Format.OTHER else None


# The check ------------------------------------------------------------------------


class Entered:
    """A form as checked: every field's value (None where not given)."""

    __slots__ = ("values",)

    def __init__(self, values: dict[str, str | None]) -> None:
        self.values = values

    def needed(self, name: str) -> str:
        """A needed field's value, which a checked form always has."""
        value = self.values[name]
        assert value is not None, name
        return value

    @property
    def is_spam(self) -> bool:
        return any(self.values[name] for name in HONEYPOTS)

    def fields(self) -> dict[str, str]:
        """What the visitor entered, as stored: every field given, as text."""
        return {
            name: value for name, value in self.values.items() if value is not None and name not in HONEYPOTS
        }


NOT_A_FORM_FIELD = "Remove this field: the form does not have it"


def check(kind: str, data: Any) -> Entered:
    """The form's fields, checked and tidied; FormInvalid with every problem
    at once, one per field, in the form's order."""
    if not isinstance(data, dict):
        raise FormInvalid({"form": NOT_A_FORM_FIELD})
    values: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for field in FORMS[kind]:
        try:
            value = _value(field, data)
            if field.name == OTHER_FORMAT:
                value = other_format_chosen(values.get("format"), value)
        except Refused as refused:
            problems[field.posted_as] = message(field.wording, refused.kind, refused.given, field.limit)
        else:
            values[field.name] = value
    known = posted_names(kind)
    for name in data:
        if name not in known:
            problems.setdefault(name, NOT_A_FORM_FIELD)
    if problems:
        raise FormInvalid(problems)
    return Entered(values)


def _value(field: Field, data: dict) -> str | None:
    """One field's value, as the models' validators take it, step by step."""
    if field.posted_as not in data:
        if field.needed:
            raise Refused("missing", data)
        return None
    value = blank_as_absent(data[field.posted_as])
    if field.kind == FORMAT:
        if not isinstance(value, str) or value not in Format:
            raise Refused("enum", value)
        return value
    if value is None and not field.needed:
        return None
    if field.kind == TEXT:
        value = normalise_lines(value)
    elif field.kind in (LINE, EMAIL):
        value = drop_soft_hyphens(value)
    if not isinstance(value, str):
        raise Refused("string_type", value)
    if not _is_unicode(value):
        raise Refused("string_unicode", value)
    value = value.strip(_WHITE_SPACE)
    if field.limit is not None and len(value) > field.limit:
        raise Refused("string_too_long", value)
    if field.kind == LINE:
        return one_line(value)
    if field.kind == EMAIL:
        return address(value)
    return value


def _is_unicode(text: str) -> bool:
    """False for text holding lone surrogates, which are no Unicode text."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def message(wording: Wording | None, kind: str, given: Any, limit: int | None) -> str:
    """What a person reads about one problem with a field."""
    if wording is None or kind == "extra_forbidden":
        return NOT_A_FORM_FIELD
    if kind in ("missing", "string_too_short") or given is None:
        return wording.missing
    if kind in ("string_too_long", "too_long"):
        return f"{wording.label} must be {limit:,} characters or fewer"
    if kind == "string_type":
        return f"{wording.label} must be text"
    if kind == "one_line":
        return f"{wording.label} must be on one line, with no line breaks or hidden characters"
    return wording.invalid or f"Check the {wording.label.lower()}"
