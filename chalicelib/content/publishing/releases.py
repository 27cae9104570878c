"""Releases: each successful publish records when, by whom, from what
source version and which bucket object versions, which is what `nlc-api
status` shows and `publish --rollback` goes back to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ... import clock
from ...tables import content_table
from . import bucket
from .items import TIMESTAMP
from .plan import Plan, PublishError

Report = Callable[[str], None]
KEEP_RELEASES = 20


@dataclass
class Origin:
    """Who publishes, from what: kept in the release record."""

    by: str
    source: str = "the content bucket"


def record(plan: Plan, files: dict[str, list[str]], origin: Origin, report: Report) -> dict:
    """Record what is live, unless the live release already has these files."""
    newest = content_table.releases(KEEP_RELEASES + 1)
    if newest and etags(content_table.release_files(newest[0])) == etags(files):
        return newest[0]
    now = clock.now()
    stored, *parts = content_table.release_items(
        datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        files,
        published_at=datetime.fromtimestamp(now, UTC).strftime(TIMESTAMP),
        by=origin.by,
        source=origin.source,
        pages=str(len(plan.pages)),
    )
    # Its parts first: a release is read only once its item is there.
    content_table.write_batch(parts, [])
    content_table.write_batch(
        [stored], [key for old in newest[KEEP_RELEASES - 1 :] for key in content_table.release_keys(old)]
    )
    report(f"Live: {describe_release(stored)}")
    return stored


def etags(files: dict[str, list[str]]) -> dict[str, str]:
    return {name: version[1] for name, version in files.items()}


def describe_release(stored: dict) -> str:
    text = content_table.text_attribute
    files = content_table.release_files(stored)
    return (
        f"{text(stored, 'pages')} page(s) from {len(files)} file(s), published {text(stored, 'published_at')} "
        f"by {text(stored, 'by')}, from {text(stored, 'source')}"
    )


def unrestorable(stored: dict) -> str | None:
    """Why the release cannot be published again, if a rollback found out."""
    return content_table.text_attribute(stored, "unrestorable")


def restore(stored: dict) -> dict[str, tuple[bytes, list[str]]]:
    """The release's files as it published them, from the bucket's versions.
    A version deleted since marks the release as one that cannot be
    restored, and is refused naming the file; nothing is written."""
    released = f"the release of {content_table.text_attribute(stored, 'published_at')}"
    reason = unrestorable(stored)
    if reason is None:
        files = content_table.release_files(stored)
        try:
            return bucket.fetch(sorted(files), {name: version[0] for name, version in files.items()})
        except bucket.VersionGone as gone:
            reason = str(gone)
            content_table.mark_release(stored, unrestorable=reason)
    raise PublishError(f"{released} cannot be restored: {reason}; nothing was changed")


def current_versions(names: list[str], listed: dict[str, str]) -> dict[str, list[str]]:
    """Version ids of files already in the bucket: from the live release
    where the ETag still matches, else asked of S3."""
    newest = content_table.releases(1)
    known = content_table.release_files(newest[0]) if newest else {}
    found = {name: known[name] for name in names if name in known and known[name][1] == listed.get(name)}
    found.update(bucket.versions([name for name in names if name not in found]))
    return found
