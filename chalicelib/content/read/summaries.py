"""A record as lists show it, without its body. Pure and light: the read path
uses it for collections, without loading pydantic."""

from __future__ import annotations

BODY_FIELDS = ("html", "documents")


def summary_of(record: dict) -> dict:
    """A record as lists show it: without its body and documents."""
    return {name: value for name, value in record.items() if name not in BODY_FIELDS}
