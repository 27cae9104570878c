"""Documents a page links to (a PDF, a spreadsheet...), with the type, size
and page count the site states beside the link: "PDF, 1010KB, 52 pages"."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlparse

from ..read.records import DocumentLink
from .html_scan import Link

DOCUMENT_TYPES = (
    "pdf", "doc", "docx", "odt", "ods", "odp", "rtf", "txt", "epub",
    "xls", "xlsx", "csv", "ppt", "pptx", "zip",
)  # fmt: skip
_DOCUMENT_DETAILS = re.compile(
    r"\b(?P<type>" + "|".join(DOCUMENT_TYPES) + r")\s*,\s*(?P<size>\d+(?:\.\d+)?\s*[KMG]i?B)"
    r"(?:\s*,\s*(?P<pages>\d+)\s+pages?)?",
    re.IGNORECASE,
)


def document_type(href: str) -> str | None:
    """The file type a link's address names, if it is a document's: "pdf".
    Its last name's suffix, as PurePosixPath's (which is slow to make for
    every link)."""
    name = urlparse(href).path.rstrip("/").rsplit("/", 1)[-1]
    dot = name.rfind(".")
    extension = name[dot + 1 :].lower() if 0 < dot < len(name) - 1 else ""
    return extension if extension in DOCUMENT_TYPES else None


def documents_in(links: list[Link]) -> list[dict]:
    """The documents among a page's links, each once, with what the site
    states beside the link."""
    documents: dict[str, dict] = {}
    for link in links:
        kind = document_type(link.href)
        if kind is None:
            continue
        text = " ".join(" ".join(link.text).split())
        details = _DOCUMENT_DETAILS.search(text) or _DOCUMENT_DETAILS.search(" ".join(link.after))
        title = _DOCUMENT_DETAILS.sub("", text).strip(" ,()") if details else text
        title = " ".join(title.split()) or PurePosixPath(urlparse(link.href).path).name
        found = DocumentLink(
            url=link.href,
            title=title,
            type=kind.upper(),
            size=details.group("size").replace(" ", "") if details else None,
            pages=int(details.group("pages")) if details and details.group("pages") else None,
        ).model_dump()
        documents.setdefault(found["url"], found)
    return list(documents.values())
