"""Text that can be stored and served: DynamoDB stores UTF-8, which has no
lone surrogates, and XML 1.0 (the Atom feed, the sitemap) has no control
characters but tab, line feed and carriage return, nor U+FFFE and U+FFFF.
A page holding any of these is refused at publish, naming the field; the
feeds strip them as well, so no other way in can break a feed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .problems import ContentError

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def without_forbidden(text: str) -> str:
    return FORBIDDEN.sub("", text)


def unstorable(name: str, source: str, fields: dict) -> list[ContentError]:
    """A problem for each field of a page's record holding a character that
    cannot be stored, with the line of the source that holds it, if one does."""
    errors = []
    for field, text in _texts(fields, ""):
        found = FORBIDDEN.search(text)
        if found is None:
            continue
        character = found.group()
        where = source.find(character)
        line = source.count("\n", 0, where) + 1 if where >= 0 else None
        message = f"holds {_describe(character)}, which cannot be published: remove it"
        errors.append(ContentError(name, message, line, field or None, "unstorable-text"))
    return errors


def _describe(character: str) -> str:
    code = f"U+{ord(character):04X}"
    if "\ud800" <= character <= "\udfff":
        return f"a lone surrogate ({code})"
    if character in "\ufffe\uffff":
        return f"a non-character ({code})"
    return f"a control character ({code})"


def _texts(value: Any, field: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield field, value
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{field}.{key}" if field else str(key)
            yield from _texts(key, inner)
            yield from _texts(item, inner)
    elif isinstance(value, list | tuple):
        for number, item in enumerate(value):
            yield from _texts(item, f"{field}[{number}]")
