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
import json
import zlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ...json_text import dumps
from ...tables import content_table
from ..eleventy.limits import MAX_RECORD_BYTES
from ..eleventy.problems import ContentError
from ..read import search
from . import feeds, visibility
from .plan import PublishError

if TYPE_CHECKING:
    from ..eleventy.rendering import RenderedPage

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
        self,
        updated_at: str,
        stored_changes: dict[str, content_table.Row],
        stored_index: content_table.Row | None,
        site_url: str,
    ) -> Derived:
        """The derived items that changed since the last publish (the
        `changes` partition and the search index's header as stored)."""
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

        # The search index, feeds and sitemap follow from the pages (their
        # fingerprints, visibility and dates) and the site's URL: unchanged,
        # nothing of them is built again.
        inputs = _digest([*sorted(f"{page.source}:{page.fingerprint}" for page in self.pages), site_url])
        if stored_index and stored_index.get("inputs") == inputs:
            return Derived(changes.puts, [], changes.deletes)
        # What search, the feeds and the sitemap hold: pages with a URL that
        # lists show (not a 404 page kept out of collections).
        listed = sorted(
            (page for page in public if page.path and page.listed), key=lambda page: page.path or ""
        )
        index = search.build(
            [
                search.Document(
                    page.path or "", page.label, page.kind, search.plain_text(page.fields["html"])
                )
                for page in listed
            ]
        )
        bodies = _bodies(listed, modified, site_url)
        _refuse_oversized(index, bodies)
        for name, body in bodies.items():
            fingerprint = hashlib.sha256(body).hexdigest()[:32]
            if changes.subject(f"record#{name}", fingerprint):
                changes.puts.append(
                    content_table.binary_item(
                        content_table.derived_key(name), body, modified=updated_at, fingerprint=fingerprint
                    )
                )
        shard_puts, switch, shard_deletes = index_items(index, stored_index, updated_at, inputs)
        return Derived(changes.puts + shard_puts, switch, changes.deletes + shard_deletes)


@dataclass
class Derived:
    """What a publish writes beyond its pages, in three steps: `puts` with
    the pages', then `switch` (the search index's header, once every shard
    it names is written), then `deletes` (shards no header names any more)."""

    puts: list[dict]
    switch: list[dict]
    deletes: list[content_table.Key]


def index_items(
    index: search.Built, stored: content_table.Row | None, updated_at: str, inputs: str
) -> tuple[list[dict], list[dict], list[content_table.Key]]:
    """The shards that changed, each written to the slot the live header does
    not use; the new header, naming the `inputs` it was built from; the
    replaced shards, to delete after it."""
    live: dict[str, list] = json.loads(stored.get("slots") or "{}") if stored else {}
    modified = updated_at
    if stored and stored.get("fingerprint") == index.release:
        # The same index from changed inputs (a feed's): only the header's `inputs` changes.
        modified = stored.get("modified") or updated_at
    puts, deletes = [], []
    slots: dict[str, list] = {}
    for shard in index.shards:
        digest, slot = live.get(shard.name, (None, 1))
        if digest == shard.digest:
            slots[shard.name] = [digest, slot]
            continue
        slots[shard.name] = [shard.digest, 1 - slot]
        puts.append(content_table.search_shard_item(shard.name, 1 - slot, shard.body, shard.digest))
        if digest is not None:
            deletes.append(content_table.search_shard_key(shard.name, slot))
    deletes += [
        content_table.search_shard_key(name, slot) for name, (_, slot) in live.items() if name not in slots
    ]
    header = content_table.binary_item(
        content_table.SEARCH_HEADER,
        zlib.compress(json.dumps(index.header).encode()),
        fingerprint=index.release,
        modified=modified,
        inputs=inputs,
        slots=json.dumps(slots, sort_keys=True, separators=(",", ":")),
    )
    return puts, [header], deletes


def _refuse_oversized(index: search.Built, bodies: dict[str, bytes]) -> None:
    """A derived record too large for one item, refused before any write:
    nothing is trimmed."""
    problems = search.shard_problems(index, MAX_RECORD_BYTES)
    problems += [
        f"the {name} record would be {len(body):,} bytes compressed; a record holds at most {MAX_RECORD_BYTES:,}"
        for name, body in bodies.items()
        if len(body) > MAX_RECORD_BYTES
    ]
    if problems:
        raise PublishError(
            f"{len(problems)} derived record(s) too large; nothing was published",
            [ContentError("the site", problem) for problem in problems],
        )


def _bodies(listed: list[RenderedPage], modified: dict[str, str], site_url: str) -> dict[str, bytes]:
    """The feeds and the sitemap, compressed."""
    entries = _feed_entries(listed, modified)
    located = [(page.path or "", modified[page.source]) for page in listed]
    return {
        content_table.SITEMAP: zlib.compress(feeds.sitemap(site_url, located)),
        content_table.ATOM_FEED: zlib.compress(feeds.atom(site_url, entries)),
        content_table.JSON_FEED: zlib.compress(feeds.json_feed(site_url, entries)),
    }


class _Changes:
    """The `changes` partition: for each page, list and derived record, its
    fingerprint and when it last changed. Records what to put and delete."""

    def __init__(self, stored: dict[str, content_table.Row], now: str) -> None:
        self.stored, self.now = stored, now
        self.seen: set[str] = set()
        self.puts: list[dict] = []
        self.deletes: list[content_table.Key] = []

    def subject(self, name: str, fingerprint: str) -> bool:
        """Note `name`'s fingerprint; True if it changed (or is new)."""
        self.seen.add(name)
        old = self.stored.get(name)
        if old and old.get("fingerprint") == fingerprint:
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
        return self.stored[name].get("modified") or self.now

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
        if page.kind == "page" and (page.listed or page.path):
            lists[content_table.PAGES].append(member)
        if page.listed:
            if page.kind == "post":
                lists[content_table.POSTS].append(member)
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


def _digest(parts: list[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]
