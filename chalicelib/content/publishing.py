"""Publishing: validate every file, upload the changed sources to S3 and make
the content table serve exactly what they render.

One code path for every trigger: `nlc-api publish` loads a content folder
and uploads it; in AWS the bucket's EventBridge events call
`handle_bucket_event`, and POST /admin/publish calls `reindex_for_staff`,
which load the bucket. Each validates the whole set first, AWS's own limits
included, and writes nothing if any file is wrong.

A publish converges: it compares what the table holds (a consistent Scan of
the partitions publishing owns, keys and fingerprints only) with what the
sources render, puts what is missing or different and deletes the rest,
whatever an earlier publish did or failed to do. Publishes take turns under
a lease (lease.py). Each successful one records a release: when, by whom,
from what source version, and which bucket object versions, which is what
`nlc-api status` shows and `publish --rollback` goes back to.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .netlify_redirects import RedirectPlan
    from .rendering import RenderedPage

from .. import aws, clock, observability
from ..errors import Refused, Unavailable
from ..json_text import dumps
from ..resources import SOURCE_PREFIX
from ..settings import get_settings
from ..tables import content_table
from . import derived, invalidation, notifications
from . import lease as leases
from .limits import MAX_SOURCE_BYTES
from .problems import ContentError

Report = Callable[[str], None]
Key = content_table.Key
# What one derived record (search index, feed, sitemap) may hold, leaving
# room for its keys and attribute names in DynamoDB's 400 KB.
MAX_RECORD_BYTES = 380 * 1024
KEEP_RELEASES = 20
CLI_WAIT_SECONDS = 120
STAFF_WAIT_SECONDS = 10  # inside API Gateway's 29 s
INDEXER = "bucket indexer"
SCHEDULER = "scheduled publish"
# `updated` has this shape, so a record's size is known before it is dated.
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


class PublishError(Exception):
    """Content that cannot be published; nothing was written."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class ContentRejected(Refused):
    """The bucket's sources do not publish: the table keeps the last good set."""

    code = "content_invalid"


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
    warnings: list[str] = field(default_factory=list)

    def line(self, dry_run: bool) -> str:
        verb = "Would publish" if dry_run else "Published"
        stale = f" {self.stale_removed} stale record(s) removed;" if self.stale_removed else ""
        return (
            f"{verb}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.deleted)} deleted, {self.unchanged} unchanged;{stale} "
            f"{self.documents_written} document(s) written, {self.uploads} file(s) uploaded to S3."
        )


@dataclass
class Origin:
    """Who publishes, from what: kept in the release record."""

    by: str
    source: str = "the content bucket"


# Loading ----------------------------------------------------------------------


def load_directory(content_dir: Path) -> dict[str, bytes]:
    """The content files of a folder: a content folder or the site's whole
    repository (see sources.py for which files count)."""
    from .sources import read_directory

    if not content_dir.is_dir():
        raise PublishError(f"{content_dir} is not a folder")
    return read_directory(content_dir)


def _etag(raw: bytes) -> str:
    # S3's ETag for a single-part upload encrypted with S3's own keys.
    return hashlib.md5(raw, usedforsecurity=False).hexdigest()


def _list_bucket() -> dict[str, str]:
    """The bucket's current sources and their ETags."""
    s3, bucket = aws.s3(), get_settings().content_bucket
    listed = {}
    for listing in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=SOURCE_PREFIX):
        for entry in listing.get("Contents", []):
            listed[entry["Key"][len(SOURCE_PREFIX) :]] = entry["ETag"].strip('"')
    return listed


def _fetch(names: list[str], versions: dict[str, str] | None = None) -> dict[str, tuple[bytes, list[str]]]:
    """Each file's bytes and [version id, ETag]: the current version, or the
    one named in `versions`."""
    s3, bucket = aws.s3(), get_settings().content_bucket

    def get(name: str) -> tuple[bytes, list[str]]:
        extra = {"VersionId": versions[name]} if versions else {}
        response = s3.get_object(Bucket=bucket, Key=SOURCE_PREFIX + name, **extra)
        return response["Body"].read(), [response.get("VersionId", "null"), response["ETag"].strip('"')]

    return dict(zip(names, content_table.in_parallel(get, names), strict=True))


# Validation: everything, before the first write ------------------------------


@dataclass
class Plan:
    """A set of sources that publishes: rendered, and within every limit."""

    sources: dict[str, bytes]
    pages: list[RenderedPage]
    warnings: list[str]
    redirects: RedirectPlan


def prepare(sources: dict[str, bytes], report: Report) -> Plan:
    """Validate and render the whole set; PublishError naming every problem."""
    from .problems import ContentInvalid, unexpected
    from .rendering import build_site

    errors = _file_problems(sources)
    refused = {error.file for error in errors}
    site = None
    try:
        site = build_site({name: raw for name, raw in sources.items() if name not in refused})
        if site is not None:
            errors += _table_problems(site.pages, site.redirects)
    except ContentInvalid as invalid:
        errors += invalid.errors
    except Exception as failure:  # nothing escapes: a set that cannot be built is refused
        errors.append(unexpected("the content", failure))
    if errors:
        for error in errors:
            report(f"error: {error}")
        raise PublishError(
            f"{len(errors)} problem(s) in the content; nothing was published", [str(e) for e in errors]
        )
    assert site is not None
    for warning in site.warnings:
        report(f"warning: {warning}")
    return Plan(sources, site.pages, site.warnings, site.redirects)


def _file_problems(sources: dict[str, bytes]) -> list[ContentError]:
    errors = []
    for name, raw in sorted(sources.items()):
        if len(raw) > MAX_SOURCE_BYTES:
            errors.append(
                ContentError(
                    name, f"is {len(raw):,} bytes; a source file can be at most {MAX_SOURCE_BYTES:,}"
                )
            )
        key_bytes = len((SOURCE_PREFIX + name).encode())
        if key_bytes > content_table.MAX_OBJECT_KEY_BYTES:
            errors.append(
                ContentError(
                    name,
                    f"its path makes an S3 object key of {key_bytes:,} bytes; "
                    f"the limit is {content_table.MAX_OBJECT_KEY_BYTES:,} bytes",
                    field="file name",
                )
            )
    return errors


def _table_problems(pages: list[RenderedPage], redirects: RedirectPlan) -> list[ContentError]:
    """What DynamoDB would refuse, found before anything is written: each
    problem once per file, naming the field that causes it."""
    placeholder = datetime.fromtimestamp(0, UTC).strftime(_TIMESTAMP)
    found: dict[tuple[str, str | None, str], ContentError] = {}
    owners: dict[Key, str] = {}

    def add(source: str, field_name: str | None, problem: str) -> None:
        # Once per file, field and limit ("makes a DynamoDB item"), whatever the sizes.
        limit = problem.split(" of ")[0]
        found.setdefault((source, field_name, limit), ContentError(source, problem, field=field_name))

    def check(source: str, key_field: str | None, size_field: str, stored: dict) -> None:
        key = content_table.item_key(stored)
        for problem in content_table.key_problems(stored):
            add(source, key_field, problem)
        too_large = content_table.size_problem(stored)
        if too_large:
            add(source, size_field, too_large)
        other = owners.setdefault(key, source)
        if other != source:
            add(source, key_field, f"makes the same record as {other} ({key[0]})")

    for page in pages:
        largest = _largest_field(page.record(placeholder))
        for key_field, stored in _page_items(page, placeholder):
            check(page.source, key_field, largest, stored)
    for stored, source in _document_items(pages):
        check(source, "documents", "documents", stored)
    for stored in _redirect_items(redirects):
        check("netlify.toml or _redirects", "from", "redirects", stored)
    return list(found.values())


# The records a set renders to -------------------------------------------------


def _page_fingerprint(page: RenderedPage) -> str:
    # The file's name is part of what it renders (its slug, page.filePathStem).
    return hashlib.sha256(f"{page.fingerprint}\n{page.source}".encode()).hexdigest()


def _primary_key(page: RenderedPage) -> Key:
    return content_table.post_key(page.slug) if page.kind == "post" else content_table.page_key(page.slug)


def _page_items(page: RenderedPage, updated: str) -> list[tuple[str | None, dict]]:
    """The page's items, each with the field its key comes from (None: the
    file's name)."""
    from .records import summary_of

    record = page.record(updated)
    full, summary = dumps(record), dumps(summary_of(record))
    attributes = {"fp": _page_fingerprint(page), "source": page.source, "updated": updated}

    def make(key: Key, field_name: str | None, **values: str) -> tuple[str | None, dict]:
        return field_name, content_table.item(key, **values, **attributes)

    if page.kind == "post":
        summary_key = content_table.post_summary_key(page.date or "", page.slug)
    else:
        summary_key = content_table.page_summary_key(page.slug)
    items = [make(_primary_key(page), None, json=full)]
    if page.listed:  # eleventyExcludeFromCollections keeps it out of every list
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


def _redirect_items(redirects: RedirectPlan) -> list[dict]:
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


def _largest_field(record: dict) -> str:
    """The record's largest field: what to shorten when it is too large."""
    return max(record, key=lambda name: len(dumps(record[name])))


def _document_items(pages: list[RenderedPage]) -> list[tuple[dict, str]]:
    """Each linked document's item, with the first file that links to it."""
    from .records import DocumentRecord

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


# Reconciling the table --------------------------------------------------------


def _reconcile(
    plan: Plan, summary: Summary, report: Report, dry_run: bool, lease: leases.Lease | None
) -> None:
    """Make the table hold exactly what the plan renders."""
    held = content_table.published_items()
    moment = clock.now()
    now = datetime.fromtimestamp(moment, UTC).strftime(_TIMESTAMP)
    wanted: dict[Key, dict] = {}
    puts: list[dict] = []
    # A draft or scheduled page writes staff's preview only; the search
    # index, feeds, sitemap and list markers are built from the public pages
    # (content/derived.py), below.
    reader = derived.Publication(plan.pages, moment)

    for page in reader.pages:
        public = reader.is_public(page)
        primary = held.get(_primary_key(page) if public else _preview_key(page))
        fingerprint = _page_fingerprint(page)
        same = primary is not None and content_table.text_attribute(primary, "fp") == fingerprint
        # An unchanged page keeps its date, however many of its items are rewritten.
        updated = (content_table.text_attribute(primary, "updated") if same and primary else None) or now
        if public:
            items = [stored for _, stored in _page_items(page, updated)]
        else:
            marks = {"fp": fingerprint, "source": page.source, "updated": updated}
            items = [
                {**stored, **content_table.item(content_table.item_key(stored), **marks)}
                for stored in reader.preview_items(page, page.record(updated))
            ]
        changed = [stored for stored in items if _differs(stored, held)]
        wanted.update((content_table.item_key(stored), stored) for stored in items)
        puts += changed
        if not changed:
            summary.unchanged += 1
            continue
        label = page.path or page.slug
        (summary.updated if primary else summary.created).append(label)
        report(f"{'update' if primary else 'create'} {label}  ({page.source})")

    documents = [stored for stored, _ in _document_items(reader.pages)]
    redirects = _redirect_items(plan.redirects)
    wanted.update((content_table.item_key(stored), stored) for stored in documents + redirects)
    document_puts = [stored for stored in documents if _differs(stored, held)]
    puts += [stored for stored in redirects if _differs(stored, held)]
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
    derived_puts, derived_deletes = reader.records(now, report)
    summary.item_writes += len(derived_puts) + len(derived_deletes)
    summary.published_at = now
    summary.changed_keys = (
        [content_table.item_key(stored) for stored in puts + document_puts + derived_puts]
        + deletes
        + derived_deletes
    )
    # Puts first: a moved page is served at its new path before its old one goes.
    if lease:
        lease.renew()
    summary.batch_calls += content_table.write_batch(puts + document_puts + derived_puts, [])
    if lease:
        lease.renew()
    summary.batch_calls += content_table.write_batch([], deletes + derived_deletes)


def _preview_key(page: RenderedPage) -> Key:
    return content_table.preview_key(page.path or page.source)


def _differs(stored: dict, held: dict[Key, dict]) -> bool:
    current = held.get(content_table.item_key(stored))
    return current is None or content_table.fingerprint(current) != content_table.fingerprint(stored)


# Releases ---------------------------------------------------------------------


def _record_release(plan: Plan, files: dict[str, list[str]], origin: Origin, report: Report) -> dict:
    """Record what is live, unless the live release already has these files."""
    newest = content_table.releases(KEEP_RELEASES + 1)
    if newest and _etags(content_table.release_files(newest[0])) == _etags(files):
        return newest[0]
    now = clock.now()
    stored = content_table.release_item(
        datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        files,
        published_at=datetime.fromtimestamp(now, UTC).strftime(_TIMESTAMP),
        by=origin.by,
        source=origin.source,
        pages=str(len(plan.pages)),
    )
    content_table.write_batch([stored], [content_table.item_key(old) for old in newest[KEEP_RELEASES - 1 :]])
    report(f"Live: {describe_release(stored)}")
    return stored


def _etags(files: dict[str, list[str]]) -> dict[str, str]:
    return {name: version[1] for name, version in files.items()}


def describe_release(stored: dict) -> str:
    text = content_table.text_attribute
    files = content_table.release_files(stored)
    return (
        f"{text(stored, 'pages')} page(s) from {len(files)} file(s), published {text(stored, 'published_at')} "
        f"by {text(stored, 'by')}, from {text(stored, 'source')}"
    )


# Publishing a set, under the lease -------------------------------------------


def _publish_to_bucket(plan: Plan, origin: Origin, report: Report, lease: leases.Lease) -> Summary:
    """Make the bucket hold exactly the plan's sources, then the table."""
    s3, bucket = aws.s3(), get_settings().content_bucket
    listed = _list_bucket()
    changed = [name for name in sorted(plan.sources) if listed.get(name) != _etag(plan.sources[name])]
    removed = sorted(name for name in listed if name not in plan.sources)

    def upload(name: str) -> list[str]:
        content_type = mimetypes.guess_type(name)[0] or "text/plain"
        response = s3.put_object(
            Bucket=bucket, Key=SOURCE_PREFIX + name, Body=plan.sources[name], ContentType=content_type
        )
        return [response.get("VersionId", "null"), response["ETag"].strip('"')]

    def remove(name: str) -> None:
        # The bucket is versioned: a delete keeps the file's history.
        s3.delete_object(Bucket=bucket, Key=SOURCE_PREFIX + name)

    files = dict(zip(changed, content_table.in_parallel(upload, changed), strict=True))
    content_table.in_parallel(remove, removed)
    files.update(_current_versions([name for name in plan.sources if name not in files], listed))
    summary = Summary(warnings=plan.warnings, uploads=len(changed))
    _go_live(plan, summary, files, origin, report, lease)
    return summary


def _current_versions(names: list[str], listed: dict[str, str]) -> dict[str, list[str]]:
    """Version ids of files already in the bucket: from the live release
    where the ETag still matches, else asked of S3."""
    newest = content_table.releases(1)
    known = content_table.release_files(newest[0]) if newest else {}
    found = {name: known[name] for name in names if name in known and known[name][1] == listed.get(name)}
    s3, bucket = aws.s3(), get_settings().content_bucket

    def head(name: str) -> list[str]:
        response = s3.head_object(Bucket=bucket, Key=SOURCE_PREFIX + name)
        return [response.get("VersionId", "null"), response["ETag"].strip('"')]

    missing = [name for name in names if name not in found]
    found.update(zip(missing, content_table.in_parallel(head, missing), strict=True))
    return found


def _index_bucket(report: Report, *, origin: Origin, full: bool) -> Summary | None:
    """Publish what the bucket holds. Unless `full`, nothing is read when
    the bucket holds the live release's files (the table serves them)."""
    listed = _list_bucket()
    if not full:
        newest = content_table.releases(1)
        if newest and _etags(content_table.release_files(newest[0])) == listed:
            report("The bucket holds the live release: nothing to index.")
            return None
    fetched = _fetch(sorted(listed))
    plan = prepare({name: raw for name, (raw, _) in fetched.items()}, report)
    summary = Summary(warnings=plan.warnings)
    files = {name: version for name, (_, version) in fetched.items()}
    _go_live(plan, summary, files, origin, report, lease=None)
    return summary


def _go_live(
    plan: Plan,
    summary: Summary,
    files: dict[str, list[str]],
    origin: Origin,
    report: Report,
    lease: leases.Lease | None,
) -> None:
    """Make the table serve the plan, record the release, announce what
    changed and have CloudFront forget it (neither can fail nor undo the
    publish)."""
    _reconcile(plan, summary, report, dry_run=False, lease=lease)
    report(summary.line(dry_run=False))
    release = _record_release(plan, files, origin, report)
    notifications.announce(summary.created, summary.updated, summary.gone_paths)
    invalidation.invalidate(
        summary.changed_keys, f"{content_table.item_key(release)[1]} {summary.published_at}"
    )


def _under_lease(lease: leases.Lease, work: Callable[[], Summary | None], report: Report) -> Summary | None:
    """Run `work`, then index the bucket again for as long as someone marked
    the lease dirty meanwhile. Refused content wrote nothing, so the lease
    goes back clean; any other failure leaves it marked dirty."""
    try:
        outcome = _refused_or(work)
        while not lease.let_go():
            report("The bucket changed during the publish: indexing it again.")
            lease.renew()
            outcome = (
                _refused_or(lambda: _index_bucket(report, origin=Origin(INDEXER), full=False)) or outcome
            )
    except BaseException:
        lease.abandon()
        raise
    if isinstance(outcome, PublishError):
        raise outcome
    return outcome


def _refused_or(work: Callable[[], Summary | None]) -> Summary | PublishError | None:
    try:
        return work()
    except PublishError as refused:
        return refused


# Entry points -----------------------------------------------------------------


def publish_directory(
    content_dir: Path,
    dry_run: bool = False,
    report: Report = print,
    origin: Origin | None = None,
    wait_seconds: float = CLI_WAIT_SECONDS,
    compare: bool = True,
) -> Summary:
    """Publish a folder. A dry run writes nothing; one that does not
    `compare` makes no AWS call at all: every page counts as new."""
    plan = prepare(load_directory(content_dir), report)
    origin = origin or Origin(by="nlc-api publish", source=str(content_dir))
    if dry_run and not compare:
        summary = Summary(warnings=plan.warnings, uploads=len(plan.sources))
        summary.created = [page.path or page.slug for page in plan.pages]
        report(summary.line(dry_run=True))
        return summary
    if dry_run:
        listed = _list_bucket()
        summary = Summary(warnings=plan.warnings)
        summary.uploads = sum(listed.get(name) != _etag(raw) for name, raw in plan.sources.items())
        _reconcile(plan, summary, report, dry_run=True, lease=None)
        report(summary.line(dry_run=True))
        return summary
    lease = leases.take(origin.by, wait_seconds)
    result = _under_lease(lease, lambda: _publish_to_bucket(plan, origin, report, lease), report)
    assert result is not None
    return result


def rollback(
    report: Report = print, origin: Origin | None = None, wait_seconds: float = CLI_WAIT_SECONDS
) -> Summary:
    """Publish again the files of the release before the live one, from the
    bucket's versions, and make them the bucket's current files."""
    newest = content_table.releases(2)
    if len(newest) < 2:
        raise PublishError("there is no earlier publish to go back to")
    previous = newest[1]
    files = content_table.release_files(previous)
    report(f"Going back to: {describe_release(previous)}")
    fetched = _fetch(sorted(files), {name: version[0] for name, version in files.items()})
    plan = prepare({name: raw for name, (raw, _) in fetched.items()}, report)
    released = content_table.text_attribute(previous, "published_at")
    origin = Origin(
        by=(origin.by if origin else "nlc-api publish --rollback"),
        source=f"the release of {released} ({content_table.text_attribute(previous, 'source')})",
    )
    lease = leases.take(origin.by, wait_seconds)
    result = _under_lease(lease, lambda: _publish_to_bucket(plan, origin, report, lease), report)
    assert result is not None
    return result


def handle_bucket_event(detail: dict, report: Report = print) -> Summary | None:
    """Re-index after a change to a source in our bucket; ignore anything
    else. A bad set is refused as a whole: logged with its problems and
    counted, never raised, so the table keeps serving the last good set."""
    bucket = detail.get("bucket", {}).get("name")
    key = detail.get("object", {}).get("key", "")
    if bucket != get_settings().content_bucket or not key.startswith(SOURCE_PREFIX):
        return None
    return _index_unattended(INDEXER, full=False, report=report)


def publish_scheduled(report: Report = print) -> Summary | None:
    """Index the bucket again because a scheduled page's time has come
    (nothing in the bucket changed)."""
    return _index_unattended(SCHEDULER, full=True, report=report)


def _index_unattended(by: str, *, full: bool, report: Report) -> Summary | None:
    """Index the bucket for a function nobody waits on: under the lease, or
    left to whoever holds it (who indexes again before letting go). A bad
    set is logged and counted, never raised."""
    lease = leases.take_or_mark(by)
    if lease is None:
        report("Another publish holds the lease: it will index the bucket before it ends.")
        return None
    try:
        return _under_lease(lease, lambda: _index_bucket(report, origin=Origin(by), full=full), report)
    except PublishError as error:
        _log_rejection(error)
        return None


def reindex_for_staff(caller: str | None = None) -> dict:
    """Rebuild the content table from the bucket's sources, as the indexing
    handler does after an upload; writes only what differs."""
    origin = Origin(by=f"POST /admin/publish ({caller})" if caller else "POST /admin/publish")
    lines: list[str] = []
    try:
        lease = leases.take(origin.by, STAFF_WAIT_SECONDS)
    except leases.PublishBusy:
        content_table.mark_lease_dirty(int(clock.now()))
        raise
    try:
        summary = _under_lease(
            lease, lambda: _index_bucket(lines.append, origin=origin, full=True), lines.append
        )
    except PublishError as error:
        _log_rejection(error)
        raise ContentRejected(f"{error}.", problems=error.problems) from None
    except leases.LeaseLost as error:
        raise Unavailable(str(error), retry_after=5) from None
    assert summary is not None
    return {
        "created": summary.created,
        "updated": summary.updated,
        "deleted": summary.deleted,
        "unchanged": summary.unchanged,
        "warnings": summary.warnings,
    }


def _log_rejection(error: PublishError) -> None:
    observability.emit(
        {"type": "content", "event": "rejected", "message": str(error), "problems": error.problems}
    )
    observability.count_content_rejected(len(error.problems))


def status() -> dict:
    """What the stage serves, and whether a publish is running."""
    newest = content_table.releases(2)
    current = content_table.lease() or {}
    return {
        "live": newest[0] if newest else None,
        "previous": newest[1] if len(newest) > 1 else None,
        "publishing": leases.describe(current) if "owner" in current else None,
        "dirty": "dirty" in current,
    }
