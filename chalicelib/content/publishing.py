"""Publishing: validate every file, upload the changed sources to S3 and
write the changed records to DynamoDB.

One code path for both triggers: `nlc-api publish` loads a content folder and
uploads it; in AWS the bucket's EventBridge events call `index_bucket`, which
loads the bucket. Each then runs `publish`, which writes only what changed
(by content fingerprint), so the second of the two writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from .sources import engine_of

if TYPE_CHECKING:
    from .rendering import RenderedPage, Site

from .. import aws, clock
from ..errors import Refused
from ..json_text import dumps
from ..resources import SOURCE_PREFIX
from ..settings import get_settings
from ..tables import content_table
from . import derived

Report = Callable[[str], None]
# DynamoDB's item limit is 400 KB; leave room for keys and attribute names.
MAX_RECORD_BYTES = 380 * 1024
# The manifest entry of what the site's Netlify redirect files publish.
REDIRECTS_SOURCE = "netlify.toml+_redirects"


class PublishError(Exception):
    """Content that cannot be published; nothing was written."""


class ContentRejected(Refused):
    """The bucket's sources do not publish: the table keeps the last good set."""

    code = "content_invalid"


@dataclass
class Summary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    documents_written: int = 0
    uploads: int = 0
    item_writes: int = 0
    batch_calls: int = 0
    warnings: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = "Would publish" if dry_run else "Published"
        return (
            f"{verb}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.deleted)} deleted, {self.unchanged} unchanged; "
            f"{self.documents_written} document(s) written, {self.uploads} file(s) uploaded to S3."
        )


def load_directory(content_dir: Path) -> dict[str, bytes]:
    """The content files of a folder: a content folder or the site's whole
    repository (see sources.py for which files count)."""
    from .sources import read_directory

    if not content_dir.is_dir():
        raise PublishError(f"{content_dir} is not a folder")
    return read_directory(content_dir)


def load_bucket() -> dict[str, bytes]:
    """The current sources in the content bucket."""
    s3, bucket = aws.s3(), get_settings().content_bucket
    sources = {}
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=SOURCE_PREFIX):
        for entry in listing.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            sources[entry["Key"][len(SOURCE_PREFIX) :]] = body
    return sources


def publish_directory(
    content_dir: Path, dry_run: bool = False, report: Report = print, compare: bool = True
) -> Summary:
    return publish(load_directory(content_dir), upload=True, dry_run=dry_run, report=report, compare=compare)


def index_bucket(report: Report = print) -> Summary:
    return publish(load_bucket(), upload=False, dry_run=False, report=report)


def reindex_for_staff() -> dict:
    """Rebuild the content table from the bucket's sources, as the indexing
    handler does after an upload; writes only what changed."""
    lines: list[str] = []
    try:
        summary = index_bucket(report=lines.append)
    except PublishError as error:
        problems = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        raise ContentRejected(f"{error}.", problems=problems) from None
    return {
        "created": summary.created,
        "updated": summary.updated,
        "deleted": summary.deleted,
        "unchanged": summary.unchanged,
        "warnings": summary.warnings,
    }


def handle_bucket_event(detail: dict, report: Report = print) -> Summary | None:
    """Re-index after a change to a source in our bucket; ignore anything else."""
    bucket = detail.get("bucket", {}).get("name")
    key = detail.get("object", {}).get("key", "")
    if bucket != get_settings().content_bucket or not key.startswith(SOURCE_PREFIX):
        return None
    return index_bucket(report)


def publish(
    sources: dict[str, bytes], *, upload: bool, dry_run: bool, report: Report, compare: bool = True
) -> Summary:
    """Validate, then write what changed. A dry run that does not `compare`
    makes no AWS call: every page counts as new."""
    from .problems import ContentInvalid
    from .rendering import build_site

    try:
        site = build_site(sources)
    except ContentInvalid as invalid:
        for error in invalid.errors:
            report(f"error: {error}")
        raise PublishError(
            f"{len(invalid.errors)} problem(s) in the content; nothing was published"
        ) from None

    summary = Summary(warnings=site.warnings)
    for warning in site.warnings:
        report(f"warning: {warning}")
    # Reader hook (content/derived.py): a draft or scheduled page writes staff's
    # preview only, and the search index, feeds, sitemap and list markers are
    # rebuilt from the public pages, below.
    now = clock.now()
    reader = derived.Publication(site.pages, now)
    site.pages = reader.pages

    def stored(partition: str) -> dict[str, dict]:
        return content_table.read_partition(partition) if compare or not dry_run else {}

    manifest = stored("source")
    file_hashes = {name: hashlib.sha256(raw).hexdigest() for name, raw in sources.items()}
    changed_files = [
        name
        for name in sorted(sources)
        if manifest.get(name, {}).get("file_hash", {}).get("S") != file_hashes[name]
    ]
    removed_files = [name for name in manifest if name not in sources]
    updated_at = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    puts: list[dict] = []
    deletes: list[content_table.Key] = []
    manifest_puts: list[dict] = []
    too_large: list[str] = []

    for page in site.pages:
        old = manifest.get(page.source)
        if old and old.get("fingerprint", {}).get("S") == page.fingerprint:
            summary.unchanged += 1
            continue
        (summary.updated if old else summary.created).append(page.path or page.slug)
        report(f"{'update' if old else 'create'} {page.path or page.slug}  ({page.source})")
        record = page.record(updated_at)
        items = _page_items(page, record) if reader.is_public(page) else reader.preview_items(page, record)
        largest = max(len(item["json"]["S"].encode()) for item in items if "json" in item)
        if largest > MAX_RECORD_BYTES:
            too_large.append(
                f"{page.source}: renders to {largest // 1024} KB; a page can be at most {MAX_RECORD_BYTES // 1024} KB"
            )
        new_keys = {(item["pk"]["S"], item["sk"]["S"]) for item in items}
        puts += items
        deletes += [key for key in _owned_keys(old) if key not in new_keys]
        manifest_puts.append(
            content_table.item(
                content_table.source_key(page.source),
                fingerprint=page.fingerprint,
                file_hash=file_hashes[page.source],
                keys=[list(key) for key in sorted(new_keys)],
            )
        )

    redirects_entry = manifest.get(REDIRECTS_SOURCE)
    if (
        redirects_entry is None
        or redirects_entry.get("fingerprint", {}).get("S") != site.redirects_fingerprint
    ):
        items = _redirect_items(site)
        new_keys = {content_table.item_key(item) for item in items}
        puts += items
        deletes += [key for key in _owned_keys(redirects_entry) if key not in new_keys]
        manifest_puts.append(
            content_table.item(
                content_table.source_key(REDIRECTS_SOURCE),
                fingerprint=site.redirects_fingerprint,
                keys=[list(key) for key in sorted(new_keys)],
            )
        )
    removed_files = [name for name in removed_files if name != REDIRECTS_SOURCE]

    for name in removed_files:
        report(f"delete {name}")
        if engine_of(name):
            summary.deleted.append(name)
        deletes += [*_owned_keys(manifest[name]), content_table.source_key(name)]

    # Data, configuration and skipped files have no records of their own: only their hash.
    pages_by_source = {page.source for page in site.pages}
    manifest_puts += [
        content_table.item(content_table.source_key(name), file_hash=file_hashes[name])
        for name in changed_files
        if name not in pages_by_source
    ]

    if too_large:
        for problem in too_large:
            report(f"error: {problem}")
        raise PublishError(f"{len(too_large)} page(s) too large; nothing was published")

    document_puts, document_deletes = _document_changes(site.pages, stored)
    summary.documents_written = len(document_puts) + len(document_deletes)
    derived_puts, derived_deletes = reader.records(updated_at, report)
    puts += derived_puts
    deletes += derived_deletes

    if upload:
        summary.uploads = len(changed_files)

    # A key another file now writes (a renamed file, a moved page) is not deleted.
    written = {(item["pk"]["S"], item["sk"]["S"]) for item in puts + document_puts}
    deletes = sorted({key for key in deletes if key not in written})

    if not dry_run:
        if upload:
            _sync_bucket(sources, changed_files, removed_files)
        # Sources' manifest entries go last: if a write fails part-way, the
        # next publish still sees those files as changed and finishes the job.
        summary.batch_calls += content_table.write_batch(puts + document_puts, deletes + document_deletes)
        summary.batch_calls += content_table.write_batch(manifest_puts, [])
    summary.item_writes = (
        len(puts) + len(document_puts) + len(manifest_puts) + len(deletes) + len(document_deletes)
    )
    report(summary.line(dry_run))
    return summary


def _owned_keys(manifest_item: dict | None) -> list[content_table.Key]:
    if not manifest_item or "keys" not in manifest_item:
        return []
    return [tuple(key) for key in json.loads(manifest_item["keys"]["S"])]


def _page_items(page: RenderedPage, record: dict) -> list[dict]:
    """Every item a page is read by: by slug, by path, in the list of its
    kind and in each of its collections, unless it is kept out of lists."""
    from .records import summary_of

    full = dumps(record)
    summary = dumps(summary_of(record))
    if page.kind == "post":
        items = [content_table.item(content_table.post_key(page.slug), json=full)]
        listing = content_table.post_summary_key(page.date or "", page.slug)
    else:
        items = [content_table.item(content_table.page_key(page.slug), json=full)]
        listing = content_table.page_summary_key(page.slug)
    if page.listed:
        items.append(content_table.item(listing, json=summary))
    if page.path:
        items.append(content_table.item(content_table.path_key(page.path), json=full))
        items += [content_table.redirect_item(old, page.path, 301) for old in page.redirect_from]
    items += [
        content_table.item(content_table.collection_key(name, rank), json=full)
        for name, rank in page.collections.items()
    ]
    return items


def _redirect_items(site: Site) -> list[dict]:
    """The site's Netlify redirects: one item per old path, and the prefix
    rules together, read only when a path has no item of its own."""
    items = [
        content_table.redirect_item(old, target, status)
        for old, (target, status) in site.redirects.redirects.items()
    ]
    if site.redirects.prefixes:
        prefixes = [[rule.from_prefix, rule.to, rule.status, rule.splat] for rule in site.redirects.prefixes]
        items.append(content_table.item(content_table.REDIRECT_PREFIXES, prefixes=dumps(prefixes)))
    return items


def _document_changes(
    pages: list[RenderedPage], stored: Callable[[str], dict[str, dict]]
) -> tuple[list[dict], list[content_table.Key]]:
    """Document items to write and delete, so the table matches the pages."""
    from .records import DocumentRecord

    documents: dict[str, dict] = {}
    for page in pages:
        for link in page.documents:
            document = documents.setdefault(
                link["url"],
                {**link, "linked_from": [], "alternative_format_contact": page.alternative_format_contact},
            )
            document["linked_from"].append({"path": page.path, "title": page.title})
    wanted = {
        url: dumps(DocumentRecord.model_validate(document).model_dump(mode="json"))
        for url, document in documents.items()
    }
    existing = {url: item["json"]["S"] for url, item in stored("documents").items()}
    puts = [
        content_table.item(content_table.document_key(url), json=text)
        for url, text in wanted.items()
        if existing.get(url) != text
    ]
    deletes = [content_table.document_key(url) for url in existing if url not in wanted]
    return puts, deletes


def _sync_bucket(sources: dict[str, bytes], changed: list[str], removed: list[str]) -> None:
    s3, bucket = aws.s3(), get_settings().content_bucket

    def upload(name: str) -> None:
        content_type = mimetypes.guess_type(name)[0] or "text/plain"
        s3.put_object(Bucket=bucket, Key=SOURCE_PREFIX + name, Body=sources[name], ContentType=content_type)

    def remove(name: str) -> None:
        # The bucket is versioned: a delete keeps the file's history.
        s3.delete_object(Bucket=bucket, Key=SOURCE_PREFIX + name)

    content_table.in_parallel(upload, changed)
    content_table.in_parallel(remove, removed)
