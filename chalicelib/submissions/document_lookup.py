"""Which published document or page an accessible-format request names,
and whose mailbox it goes to: one GetItem on the content table."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from ..content.read.paths import InvalidPath, normalise_path
from ..settings import get_settings
from ..tables import content_table
from .errors import FormInvalid

UNKNOWN_DOCUMENT = (
    "We cannot find a document or page at that web address on our website. "
    "Check the address, or copy it from the link to the document"
)


def _site_url(value: str) -> tuple[content_table.Key, str] | None:
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
        return content_table.document_key(value), full
    if not on_site:
        return None
    try:
        path = normalise_path(parts.path or "/")
    except InvalidPath:
        return None
    return content_table.path_key(path), origin + path


def resolve(url: str) -> tuple[dict, str]:
    """The document or page a request names, and the mailbox it goes to.
    FormInvalid if the site publishes nothing there; AWS errors propagate."""
    found = _site_url(url)
    row = content_table.get(found[0]) if found is not None else None
    if found is None or row is None:
        raise FormInvalid({"document_url": UNKNOWN_DOCUMENT})
    record = json.loads(row["json"]) if row.get("json") else {}  # a redirect has none
    document = {"url": found[1], "title": record.get("title") or found[1]}
    if content_table.is_document_key(found[0]):
        # Only a document has a file type; a page's front matter may say anything.
        document.update(
            {name: record[name] for name in ("type", "size", "pages", "linked_from") if record.get(name)}
        )
    return document, record.get("alternative_format_contact") or get_settings().accessible_format_mailbox
