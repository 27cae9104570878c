"""Documents a page links to (a PDF, a spreadsheet...), with the type, size
and page count the site states beside the link: "PDF, 1010KB, 52 pages"."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import urlparse

from ..read.records import DocumentLink

DOCUMENT_TYPES = (
    "pdf", "doc", "docx", "odt", "ods", "odp", "rtf", "txt", "epub",
    "xls", "xlsx", "csv", "ppt", "pptx", "zip",
)  # fmt: skip
_DOCUMENT_DETAILS = re.compile(
    r"\b(?P<type>" + "|".join(DOCUMENT_TYPES) + r")\s*,\s*(?P<size>\d+(?:\.\d+)?\s*[KMG]i?B)"
    r"(?:\s*,\s*(?P<pages>\d+)\s+pages?)?",
    re.IGNORECASE,
)


class _DocumentLinks(HTMLParser):
    """Collects links to files, with their text and the text that follows."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict] = []
        self._open: dict | None = None
        self._trailing: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        self._trailing = None
        href = (dict(attrs).get("href") or "").strip()
        extension = PurePosixPath(urlparse(href).path).suffix.lower().lstrip(".")
        if extension in DOCUMENT_TYPES:
            self._open = {"url": href, "type": extension.upper(), "text": [], "after": []}

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append(self._open)
            self._trailing, self._open = self._open, None
        elif tag in ("p", "li", "div", "td"):
            self._trailing = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["text"].append(data)
        elif self._trailing is not None:
            self._trailing["after"].append(data)


def find_documents(html: str) -> list[dict]:
    parser = _DocumentLinks()
    parser.feed(html)
    documents: dict[str, dict] = {}
    for link in parser.links:
        text = " ".join(" ".join(link["text"]).split())
        details = _DOCUMENT_DETAILS.search(text) or _DOCUMENT_DETAILS.search(" ".join(link["after"]))
        title = _DOCUMENT_DETAILS.sub("", text).strip(" ,()") if details else text
        title = " ".join(title.split()) or PurePosixPath(urlparse(link["url"]).path).name
        found = DocumentLink(
            url=link["url"],
            title=title,
            type=link["type"],
            size=details.group("size").replace(" ", "") if details else None,
            pages=int(details.group("pages")) if details and details.group("pages") else None,
        ).model_dump()
        documents.setdefault(found["url"], found)
    return list(documents.values())


class _TextOnly(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def text_of(html: str) -> str:
    parser = _TextOnly()
    parser.feed(html)
    return " ".join(parser.parts)
