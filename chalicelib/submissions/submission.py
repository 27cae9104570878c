"""A submission: what a visitor sent, where it goes, and how far delivery
has got. Pure: the submissions table module stores it.

Its status is `received` until the team's copy is sent (`forwarded`); after
the last failed attempt, or a permanent refusal, it is `failed`. A filled-in
honeypot makes it `spam`, stored but never sent. One its sender asked to be
`restricted` is kept and never sent, and is in no list by status (the
status it had is kept, for lifting the restriction).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from .forms import TYPE_LABELS, Format, wordings

RECEIVED, FORWARDED, FAILED, SPAM = "received", "forwarded", "failed", "spam"
STATUSES = (RECEIVED, FORWARDED, FAILED, SPAM)
RESTRICTED = "restricted"  # not listed by status: found only by its sender's address
# The two emails of a submission, as SES events about them are recorded.
TEAM, ACKNOWLEDGEMENT = "team", "acknowledgement"

_REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread
_REFERENCE = re.compile(rf"^NLC-[{_REFERENCE_ALPHABET}]{{4}}-[{_REFERENCE_ALPHABET}]{{4}}$")


def reference_for(seed: str) -> str:
    """A reference a visitor can read out, NLC- and 8 characters (40 bits),
    drawn from a seed: the same request always gets the same reference, so a
    request stored once, whose answer was lost, is found again by it."""
    number = int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:5])
    chars = "".join(_REFERENCE_ALPHABET[(number >> (5 * i)) & 31] for i in range(8))
    return f"NLC-{chars[:4]}-{chars[4:]}"


def is_reference(value: str) -> bool:
    return bool(_REFERENCE.match(value))


def iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
    # The claim of the one sender who may acknowledge it (not shown to staff).
    acknowledged_by: str | None = None
    # What SES last said of each email: sent, delivered, bounced (<type>), complained.
    team_mail: str | None = None
    acknowledgement_mail: str | None = None

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
        chosen = self.fields.get("format")
        return Format(chosen).label if chosen else None

    @property
    def document_label(self) -> str:
        return "Document" if self.document and self.document.get("type") else "Page"

    def details(self) -> list[tuple[str, str]]:
        """Every field but the message, labelled, in the form's order; the
        document it names first."""
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
        for name, wording in wordings(self.type).items():
            value = self.fields.get(name)
            if wording.in_email != "row" or value is None:
                continue
            shown = self.format_label if name == "format" else value
            rows.append((wording.email_label or wording.label, shown or value))
        return rows

    def view(self) -> dict:
        """What staff see: everything stored, personal data included."""
        view = asdict(self)
        order = ("reference", "type", "status", "created_at", "attempts", "last_error", "forwarded_at",
                 "acknowledged_at", "team_mail", "acknowledgement_mail", "recipient", "document",
                 "fields")  # fmt: skip
        return {name: view[name] for name in order}


def _pages(count: int | None) -> str | None:
    if count is None:
        return None
    return f"{count} page" if count == 1 else f"{count} pages"
