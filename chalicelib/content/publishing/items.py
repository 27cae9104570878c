"""The table items a rendered set becomes: each page's record under every
key it is read by, each linked document, the site's redirects. Pure."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..eleventy.netlify_redirects import RedirectPlan
    from ..eleventy.rendering import RenderedPage

from ...json_text import dumps
from ...tables import content_table

Key = content_table.Key
# `updated` has this shape, so a record's size is known before it is dated.
TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
PAGE_ENTRY_SHAPE = "+listed"


def page_fingerprint(page: RenderedPage) -> str:
    # The file's name is part of what it renders (its slug, page.filePathStem).
    return hashlib.sha256(f"{page.fingerprint}\n{page.source}".encode()).hexdigest()


def primary_key(page: RenderedPage) -> Key:
    return content_table.post_key(page.slug) if page.kind == "post" else content_table.page_key(page.slug)


def page_items(page: RenderedPage, updated: str) -> list[tuple[str | None, dict]]:
    """The page's items, each with the field its key comes from (None: the
    file's name)."""
    from ..read.records import summary_of

    record = page.record(updated)
    full, summary = dumps(record), dumps(summary_of(record))
    attributes = {"fp": page_fingerprint(page), "source": page.source, "updated": updated}

    def make(key: Key, field_name: str | None, **values: str) -> tuple[str | None, dict]:
        return field_name, content_table.item(key, **values, **attributes)

    if page.kind == "post":
        summary_key = content_table.post_summary_key(page.date or "", page.slug)
    else:
        summary_key = content_table.page_summary_key(page.slug)
    items = [make(primary_key(page), None, json=full)]
    if page.kind == "page" and (page.listed or page.path):
        # /pages lists every page the site serves, those kept out of collections
        # marked. The entry's fingerprint names its shape, so entries stored
        # before `listed` are rewritten, their pages' dates kept.
        entry = dumps({**summary_of(record), "listed": page.listed})
        shaped = {**attributes, "fp": attributes["fp"] + PAGE_ENTRY_SHAPE}
        items.append(("slug", content_table.item(summary_key, json=entry, **shaped)))
    elif page.listed:  # eleventyExcludeFromCollections keeps it out of every other list
        items.append(make(summary_key, "slug", json=summary))
    if page.path:
        items.append(make(content_table.path_key(page.path), "permalink", json=full))
        items += [
            make(content_table.path_key(old), "redirect_from", redirect=page.path, status="301")
            for old in page.redirect_from
        ]
    items += [
        make(content_table.collection_key(name, rank), "tags", json=full)
        for name, rank in page.collections.items()
    ]
    return items


def redirect_items(redirects: RedirectPlan) -> list[dict]:
    """The site's Netlify redirects: one item per old path, and the prefix
    rules together, read only when a path has no item of its own."""
    items = []
    for old, (target, status) in redirects.redirects.items():
        fingerprint = hashlib.sha256(f"{target} {status}".encode()).hexdigest()
        items.append(
            content_table.item(
                content_table.path_key(old), redirect=target, status=str(status), fp=fingerprint
            )
        )
    if redirects.prefixes:
        prefixes = dumps(
            [[rule.from_prefix, rule.to, rule.status, rule.splat] for rule in redirects.prefixes]
        )
        fingerprint = hashlib.sha256(prefixes.encode()).hexdigest()
        items.append(content_table.item(content_table.REDIRECT_PREFIXES, prefixes=prefixes, fp=fingerprint))
    return items


def largest_field(record: dict) -> str:
    """The record's largest field: what to shorten when it is too large."""
    return max(record, key=lambda name: len(dumps(record[name])))


def document_items(pages: list[RenderedPage]) -> list[tuple[dict, str]]:
    """Each linked document's item, with the first file that links to it."""
    from ..read.records import DocumentRecord

    documents: dict[str, dict] = {}
    first_source: dict[str, str] = {}
    for page in pages:
        for link in page.documents:
            document = documents.setdefault(
                link["url"],
                {**link, "linked_from": [], "alternative_format_contact": page.alternative_format_contact},
            )
            first_source.setdefault(link["url"], page.source)
            document["linked_from"].append({"path": page.path, "title": page.title})
    items = []
    for url, document in documents.items():
        text = dumps(DocumentRecord.model_validate(document).model_dump(mode="json"))
        fingerprint = hashlib.sha256(text.encode()).hexdigest()
        items.append(
            (
                content_table.item(content_table.document_key(url), json=text, fp=fingerprint),
                first_source[url],
            )
        )
    return items


def preview_key(page: RenderedPage) -> Key:
    return content_table.preview_key(page.path or page.source)


def differs(stored: dict, held: dict[Key, dict]) -> bool:
    current = held.get(content_table.item_key(stored))
    return current is None or content_table.fingerprint(current) != content_table.fingerprint(stored)
