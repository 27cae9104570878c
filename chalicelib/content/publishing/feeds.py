"""The blog's feeds, Atom 1.0 and JSON Feed 1.1, and the sitemap, built at
publish time from the public posts and pages. Built with the standard
library's XML writer and json, so every title and body is escaped, and
with what XML cannot hold left out (storable.py). Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote
from xml.etree import ElementTree

from ..eleventy.storable import without_forbidden

SITE_NAME = "National Leadership Centre"
FEED_ENTRIES = 20  # the newest posts; fewer when their bodies are large
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


@dataclass(frozen=True)
class Entry:
    path: str
    title: str
    modified: str  # when it last changed: 2026-11-26T05:45:00Z
    published: str | None  # a post's date: 2019-08-28
    summary: str | None
    html: str
    author: str | None


def absolute(site_url: str, path: str) -> str:
    return site_url.rstrip("/") + quote(without_forbidden(path), safe="/%-._~!$&'()*+,;=:@")


def atom(site_url: str, entries: list[Entry]) -> bytes:
    ElementTree.register_namespace("", ATOM)
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    home = absolute(site_url, "/")
    _text(feed, "title", SITE_NAME)
    _text(feed, "id", home)
    ElementTree.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=home)
    _text(feed, "updated", max((entry.modified for entry in entries), default="1970-01-01T00:00:00Z"))
    _text(ElementTree.SubElement(feed, f"{{{ATOM}}}author"), "name", SITE_NAME)
    for entry in entries:
        url = absolute(site_url, entry.path)
        item = ElementTree.SubElement(feed, f"{{{ATOM}}}entry")
        _text(item, "title", entry.title)
        _text(item, "id", url)
        ElementTree.SubElement(item, f"{{{ATOM}}}link", rel="alternate", href=url)
        _text(item, "updated", entry.modified)
        if entry.published:
            _text(item, "published", f"{entry.published}T00:00:00Z")
        if entry.author:
            _text(ElementTree.SubElement(item, f"{{{ATOM}}}author"), "name", entry.author)
        if entry.summary:
            _text(item, "summary", entry.summary)
        _text(item, "content", entry.html).set("type", "html")
    return ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)


def json_feed(site_url: str, entries: list[Entry]) -> bytes:
    items = []
    for entry in entries:
        url = absolute(site_url, entry.path)
        item: dict[str, object] = {"id": url, "url": url, "title": entry.title, "content_html": entry.html}
        if entry.summary:
            item["summary"] = entry.summary
        if entry.published:
            item["date_published"] = f"{entry.published}T00:00:00Z"
        item["date_modified"] = entry.modified
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": SITE_NAME,
        "home_page_url": absolute(site_url, "/"),
        "authors": [{"name": SITE_NAME}],
        "language": "en-GB",
        "items": items,
    }
    return json.dumps(feed, ensure_ascii=False, separators=(",", ":")).encode()


def sitemap(site_url: str, pages: list[tuple[str, str]]) -> bytes:
    """A sitemap of (path, modified) pairs."""
    ElementTree.register_namespace("", SITEMAP)
    urlset = ElementTree.Element(f"{{{SITEMAP}}}urlset")
    for path, modified in pages:
        url = ElementTree.SubElement(urlset, f"{{{SITEMAP}}}url")
        ElementTree.SubElement(url, f"{{{SITEMAP}}}loc").text = absolute(site_url, path)
        ElementTree.SubElement(url, f"{{{SITEMAP}}}lastmod").text = modified
    return ElementTree.tostring(urlset, encoding="utf-8", xml_declaration=True)


def _text(parent: ElementTree.Element, name: str, text: str) -> ElementTree.Element:
    namespace = parent.tag.partition("}")[0] + "}"
    child = ElementTree.SubElement(parent, namespace + name)
    child.text = without_forbidden(text)
    return child
