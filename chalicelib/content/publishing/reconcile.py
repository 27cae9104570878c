"""Making the table hold exactly what a plan renders: a consistent Scan of
the partitions publishing owns (keys and fingerprints only), compared with
the plan's items, puts what is missing or different and deletes the rest,
whatever an earlier publish did or failed to do."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ... import clock
from ...settings import get_settings
from ...tables import content_table
from ..eleventy.checks import tally
from ..eleventy.problems import ContentError
from . import derived
from . import lease as leases
from .items import (
    TIMESTAMP,
    differs,
    document_items,
    page_fingerprint,
    page_items,
    preview_key,
    primary_key,
    redirect_items,
)
from .plan import Plan, PublishError

Report = Callable[[str], None]
Key = content_table.Key


@dataclass
class Summary:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # URL paths the site no longer serves (a page gone or moved), for those
    # who hear about publishes; `deleted` names the files.
    gone_paths: list[str] = field(default_factory=list)
    # Every item put or deleted, and when: what CloudFront must forget.
    changed_keys: list[Key] = field(default_factory=list)
    published_at: str = ""
    unchanged: int = 0
    stale_removed: int = 0
    documents_written: int = 0
    uploads: int = 0
    item_writes: int = 0
    batch_calls: int = 0
    warnings: list[ContentError] = field(default_factory=list)
    findings: list[ContentError] = field(default_factory=list)  # the content checks' warnings

    def line(self, dry_run: bool) -> str:
        verb = "Would publish" if dry_run else "Published"
        stale = f" {self.stale_removed} stale record(s) removed;" if self.stale_removed else ""
        checked = f" {tally(self.findings)}." if self.findings else ""
        return (
            f"{verb}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.deleted)} deleted, {self.unchanged} unchanged;{stale} "
            f"{self.documents_written} document(s) written, {self.uploads} file(s) uploaded to S3.{checked}"
        )


def reconcile(
    plan: Plan, summary: Summary, report: Report, dry_run: bool, lease: leases.Lease | None
) -> None:
    """Make the table hold exactly what the plan renders."""
    held = content_table.published_items()
    moment = clock.now()
    now = datetime.fromtimestamp(moment, UTC).strftime(TIMESTAMP)
    wanted: dict[Key, dict] = {}
    puts: list[dict] = []
    # A draft or scheduled page writes staff's preview only; the search
    # index, feeds, sitemap and list markers are built from the public pages
    # (derived.py), below.
    reader = derived.Publication(plan.pages, moment)

    for page in reader.pages:
        public = reader.is_public(page)
        primary = held.get(primary_key(page) if public else preview_key(page))
        fingerprint = page_fingerprint(page)
        same = primary is not None and content_table.text_attribute(primary, "fp") == fingerprint
        # An unchanged page keeps its date, however many of its items are rewritten.
        updated = (content_table.text_attribute(primary, "updated") if same and primary else None) or now
        if public:
            items = [stored for _, stored in page_items(page, updated)]
        else:
            marks = {"fp": fingerprint, "source": page.source, "updated": updated}
            items = [
                {**stored, **content_table.item(content_table.item_key(stored), **marks)}
                for stored in reader.preview_items(page, page.record(updated))
            ]
        changed = [stored for stored in items if differs(stored, held)]
        wanted.update((content_table.item_key(stored), stored) for stored in items)
        puts += changed
        if not changed:
            summary.unchanged += 1
            continue
        label = page.path or page.slug
        (summary.updated if primary else summary.created).append(label)
        report(f"{'update' if primary else 'create'} {label}  ({page.source})")

    documents = [stored for stored, _ in document_items(reader.pages)]
    redirects = redirect_items(plan.redirects)
    wanted.update((content_table.item_key(stored), stored) for stored in documents + redirects)
    document_puts = [stored for stored in documents if differs(stored, held)]
    puts += [stored for stored in redirects if differs(stored, held)]
    deletes = sorted(key for key in held if key not in wanted)
    summary.gone_paths = [path for key in deletes if (path := content_table.path_of(key)) is not None]
    for key in deletes:
        if content_table.is_primary(key):
            name = content_table.text_attribute(held[key], "source") or key[0]
            summary.deleted.append(name)
            report(f"delete {name}")
    summary.documents_written = len(document_puts) + sum(map(content_table.is_document_key, deletes))
    summary.stale_removed = (
        len(deletes) - len(summary.deleted) - sum(map(content_table.is_document_key, deletes))
    )
    summary.item_writes = len(puts) + len(document_puts) + len(deletes)
    if dry_run:
        return
    changes = content_table.read_partition(content_table.CHANGES)
    index = content_table.get(content_table.SEARCH_HEADER)
    try:
        made = reader.records(now, changes, index, get_settings().site_url)
    except PublishError as refused:
        for problem in refused.problems:
            report(f"error: {problem}")
        raise
    derived_puts = made.puts + made.switch
    summary.item_writes += len(derived_puts) + len(made.deletes)
    summary.published_at = now
    summary.changed_keys = (
        [content_table.item_key(stored) for stored in puts + document_puts + derived_puts]
        + deletes
        + made.deletes
    )
    # Puts first: a moved page is served at its new path before its old one
    # goes, and the search index's header names only shards already written.
    if lease:
        lease.renew()
    summary.batch_calls += content_table.write_batch(puts + document_puts + made.puts, [])
    summary.batch_calls += content_table.write_batch(made.switch, [])
    if lease:
        lease.renew()
    summary.batch_calls += content_table.write_batch([], deletes + made.deletes)
