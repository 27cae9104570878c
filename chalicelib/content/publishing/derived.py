"""What a publish gives readers and editors beyond each page: drafts and
scheduled pages kept out of every public key, the search index, the feeds,
the sitemap, and when each page and list last changed (Last-Modified).

Publishing calls this through one hook (`Publication`): a draft or scheduled
page writes staff's preview record instead of its public items, and the
records here are rebuilt from the public pages and join the publish's
writes. Like the pages, they are written only when they change.

Pure: what the table holds and the site's URL are passed in.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from ...json_text import dumps
from ...tables import content_table
from ..eleventy.limits import MAX_RECORD_BYTES
from ..read import search
from . import feeds, visibility

if TYPE_CHECKING:
    from ..eleventy.rendering import RenderedPage

Report = Callable[[str], None]
# A hidden page's fingerprint differs from its public one, so the publish
# after its moment writes its public items even though its file is unchanged.
HIDDEN = "+hidden"


class Publication:
    """One publish, as readers will see it.

    `pages` is the site's pages with each draft and scheduled page marked
    hidden (its fingerprint changed, its documents left out of /documents).
    """

    def __init__(self, pages: list[RenderedPage], now: float) -> None:
        self._hidden = {page.source for page in pages if not visibility.is_public(page, now)}
        self.pages = [
            replace(page, fingerprint=page.fingerprint + HIDDEN, documents=[])
            if page.source in self._hidden
            else page
            for page in pages
        ]

    def is_public(self, page: RenderedPage) -> bool:
        return page.source not in self._hidden

    def preview_items(self, page: RenderedPage, record: dict) -> list[dict]:
        """A hidden page's items: its record for staff's preview and, when it
        is scheduled, its place in the queue of pages to make live."""
        # A page with no URL (permalink: false) has nothing to preview at a
        # path, but its record is kept all the same, by file.
        items = [content_table.item(content_table.preview_key(page.path or page.source), json=dumps(record))]
        due = visibility.publish_at(page)
        if due and not visibility.is_draft(page):
            items.append(content_table.item(content_table.pending_key(visibility.utc_text(due), page.source)))
        return items

    def records(
        self, updated_at: str, stored_changes: dict[str, dict], site_url: str, report: Report
    ) -> tuple[list[dict], list[content_table.Key]]:
        """The derived items that changed since the last publish (the
        `changes` partition as stored), to put and delete."""
        public = [page for page in self.pages if self.is_public(page)]
        changes = _Changes(stored_changes, updated_at)
        modified = {page.source: changes.page(page) for page in public}
        for pk, members in _lists(public).items():
            if changes.subject(f"list#{pk}", _digest(sorted(members))):
                changes.puts.append(
                    content_table.item(content_table.list_marker_key(pk), modified=updated_at)
                )
        for pk in changes.vanished("list#"):
            changes.deletes.append(content_table.list_marker_key(pk))
        changes.vanished("page#")

        # What search, the feeds and the sitemap hold: pages with a URL that
        # lists show (not a 404 page kept out of collections).
        listed = sorted(
            (page for page in public if page.path and page.listed), key=lambda page: page.path or ""
        )
        for name, body in self._bodies(listed, modified, site_url, MAX_RECORD_BYTES, report).items():
            fingerprint = hashlib.sha256(body).hexdigest()[:32]
            if changes.subject(f"record#{name}", fingerprint):
                changes.puts.append(
                    content_table.binary_item(
                        content_table.derived_key(name), body, modified=updated_at, fingerprint=fingerprint
                    )
                )
        return changes.puts, changes.deletes

    @staticmethod
    def _bodies(
        listed: list[RenderedPage], modified: dict[str, str], site_url: str, max_bytes: int, report: Report
    ) -> dict[str, bytes]:
        """Each derived record, compressed, trimmed to what one item holds."""
        index = search.build(
            [
                search.Document(
                    page.path or "", page.label, page.kind, search.plain_text(page.fields["html"])
                )
                for page in listed
            ],
            max_bytes,
        )
        if index.documents < index.of:
            report(
                f"warning: the search index holds {index.documents} of {index.of} pages, "
                "as many as one record holds (see the Search section of docs/performance.md)"
            )
        entries = _feed_entries(listed, modified)
        located = [(page.path or "", modified[page.source]) for page in listed]
        builders: dict[str, Callable[[int], bytes]] = {
            content_table.SITEMAP: lambda count: feeds.sitemap(site_url, located[:count]),
            content_table.ATOM_FEED: lambda count: feeds.atom(site_url, entries[:count]),
            content_table.JSON_FEED: lambda count: feeds.json_feed(site_url, entries[:count]),
        }
        bodies = {content_table.SEARCH_INDEX: index.body}
        for name, build in builders.items():
            total = len(located) if name == content_table.SITEMAP else len(entries)
            bodies[name], kept = search.largest_fitting(_compressed(build), total, max_bytes)
            if kept < total:
                report(f"warning: {name} holds {kept} of {total} entries, as many as one record holds")
        return bodies


class _Changes:
    """The `changes` partition: for each page, list and derived record, its
    fingerprint and when it last changed. Records what to put and delete."""

    def __init__(self, stored: dict[str, dict], now: str) -> None:
        self.stored, self.now = stored, now
        self.seen: set[str] = set()
        self.puts: list[dict] = []
        self.deletes: list[content_table.Key] = []

    def subject(self, name: str, fingerprint: str) -> bool:
        """Note `name`'s fingerprint; True if it changed (or is new)."""
        self.seen.add(name)
        old = self.stored.get(name)
        if old and content_table.text_attribute(old, "fingerprint") == fingerprint:
            return False
        self.puts.append(
            content_table.item(content_table.change_key(name), fingerprint=fingerprint, modified=self.now)
        )
        return True

    def page(self, page: RenderedPage) -> str:
        """When the page last changed."""
        name = f"page#{page.kind}#{page.slug}"
        if self.subject(name, page.fingerprint):
            return self.now
        return content_table.text_attribute(self.stored[name], "modified") or self.now

    def vanished(self, prefix: str) -> list[str]:
        """Delete the entries under `prefix` not seen this time; return their names."""
        gone = [name for name in self.stored if name.startswith(prefix) and name not in self.seen]
        self.deletes += [content_table.change_key(name) for name in gone]
        return [name.removeprefix(prefix) for name in gone]


def _lists(public: list[RenderedPage]) -> dict[str, list[str]]:
    """Each list's partition, with what its members are: a list changes when a
    member joins, leaves or changes. /documents follows the pages linking to
    documents (a change to one may change a document's entry)."""
    lists: dict[str, list[str]] = {
        content_table.PAGES: [],
        content_table.POSTS: [],
        content_table.DOCUMENTS: [],
    }
    for page in public:
        member = f"{page.source}:{page.fingerprint}"
        if page.listed:
            lists[content_table.POSTS if page.kind == "post" else content_table.PAGES].append(member)
            for name in page.collections:
                lists.setdefault(content_table.collection_partition(name), []).append(member)
        if page.documents:
            lists[content_table.DOCUMENTS].append(member)
    return lists


def _feed_entries(listed: list[RenderedPage], modified: dict[str, str]) -> list[feeds.Entry]:
    posts = sorted(
        (page for page in listed if page.kind == "post"),
        key=lambda page: (page.date or "", modified[page.source], page.slug),
        reverse=True,
    )
    return [
        feeds.Entry(
            path=page.path or "",
            title=page.label,
            modified=modified[page.source],
            published=page.date,
            summary=page.fields.get("summary") or page.fields.get("metadesc"),
            html=page.fields["html"],
            author=page.fields.get("author"),
        )
        for page in posts[: feeds.FEED_ENTRIES]
    ]


def _compressed(build: Callable[[int], bytes]) -> Callable[[int], bytes]:
    return lambda count: zlib.compress(build(count))


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
