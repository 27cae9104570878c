"""Publishing: validate every file, upload the changed sources to S3 and make
the content table serve exactly what they render.

One code path for every trigger: `nlc-api publish` loads a content folder
and uploads it; in AWS the bucket's EventBridge events call
`handle_bucket_event`, and POST /admin/publish calls `reindex`,
which load the bucket. Each validates the whole set first, AWS's own limits
included, and writes nothing if any file is wrong.

A publish converges: it compares what the table holds (a consistent Scan of
the partitions publishing owns, keys and fingerprints only) with what the
sources render, puts what is missing or different and deletes the rest,
whatever an earlier publish did or failed to do. Publishes take turns under
a lease (lease.py). Each successful one records a release (releases.py),
which is what `nlc-api status` shows and `publish --rollback` goes back to.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from ... import clock, observability
from ...tables import content_table
from . import bucket, invalidation, notifications, releases, visibility
from . import lease as leases
from .plan import Plan, PublishError, load_directory, prepare
from .reconcile import Summary

# Looked up here at each call: the fault tests wrap it to act mid-publish.
from .reconcile import reconcile as _reconcile
from .releases import Origin, describe_release

Report = Callable[[str], None]
CLI_WAIT_SECONDS = 120
STAFF_WAIT_SECONDS = 10  # inside API Gateway's 29 s
INDEXER = "bucket indexer"
SCHEDULER = "scheduled publish"


# Publishing a set, under the lease -------------------------------------------


def _publish_to_bucket(plan: Plan, origin: Origin, report: Report, lease: leases.Lease) -> Summary:
    """Make the bucket hold exactly the plan's sources, then the table."""
    listed = bucket.listing()
    changed = [name for name in sorted(plan.sources) if listed.get(name) != bucket.etag(plan.sources[name])]
    removed = sorted(name for name in listed if name not in plan.sources)
    files = bucket.upload(plan.sources, changed)
    bucket.remove(removed)
    files.update(releases.current_versions([name for name in plan.sources if name not in files], listed))
    summary = Summary(warnings=plan.warnings, findings=plan.findings, uploads=len(changed))
    _go_live(plan, summary, files, origin, report, lease)
    return summary


def _index_bucket(report: Report, *, origin: Origin, full: bool) -> Summary | None:
    """Publish what the bucket holds. Unless `full`, nothing is read when
    the bucket holds the live release's files (the table serves them)."""
    listed = bucket.listing()
    if not full:
        newest = content_table.releases(1)
        if newest and releases.etags(content_table.release_files(newest[0])) == listed:
            report("The bucket holds the live release: nothing to index.")
            return None
    fetched = bucket.fetch(sorted(listed))
    plan = prepare({name: raw for name, (raw, _) in fetched.items()}, report)
    _log_findings(plan)
    summary = Summary(warnings=plan.warnings, findings=plan.findings)
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
    release = releases.record(plan, files, origin, report)
    release_id = content_table.item_key(release)[1]
    notifications.announce(
        summary.created,
        summary.updated,
        summary.gone_paths,
        release=release_id,
        published_at=summary.published_at,
    )
    invalidation.invalidate(summary.changed_keys, f"{release_id} {summary.published_at}")


def _under_lease(lease: leases.Lease, work: Callable[[], Summary | None], report: Report) -> Summary | None:
    """Run `work`, then index the bucket again for as long as someone marked
    the lease dirty meanwhile, renewing the lease throughout. Refused content
    wrote nothing, so the lease goes back clean; any other failure leaves it
    marked dirty."""
    try:
        with lease.kept_alive():
            outcome = _refused_or(work)
            while not lease.let_go():
                # Marked by an upload (only changed files need reading) or by
                # the schedule: a page that came due needs the whole bucket.
                due = any_due()
                report(
                    "A scheduled page came due during the publish: indexing the bucket again."
                    if due
                    else "The bucket changed during the publish: indexing it again."
                )
                lease.renew()
                origin = Origin(SCHEDULER if due else INDEXER)
                outcome = _refused_or(partial(_index_bucket, report, origin=origin, full=due)) or outcome
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


def any_due() -> bool:
    """Whether a scheduled page's time has come (one Query)."""
    return content_table.any_pending_due(visibility.utc_text(clock.now()))


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
        summary = Summary(warnings=plan.warnings, findings=plan.findings, uploads=len(plan.sources))
        summary.created = [page.path or page.slug for page in plan.pages]
        report(summary.line(dry_run=True))
        return summary
    if dry_run:
        listed = bucket.listing()
        summary = Summary(warnings=plan.warnings, findings=plan.findings)
        summary.uploads = sum(listed.get(name) != bucket.etag(raw) for name, raw in plan.sources.items())
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
    report(f"Going back to: {describe_release(previous)}")
    fetched = releases.restore(previous)
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
    name = detail.get("bucket", {}).get("name")
    key = detail.get("object", {}).get("key", "")
    if not bucket.is_source(name, key):
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
    # After a holder that stopped part-way, the table may be a mix of two
    # sets even where the bucket holds the live release's files.
    full = full or lease.inherited
    try:
        return _under_lease(lease, lambda: _index_bucket(report, origin=Origin(by), full=full), report)
    except PublishError as error:
        _log_rejection(error)
        return None


def reindex(origin: Origin, wait_seconds: float = STAFF_WAIT_SECONDS) -> Summary:
    """Rebuild the content table from the bucket's sources, as the indexing
    handler does after an upload, for someone waiting on it; writes only
    what differs. Busy, it marks the lease dirty so the holder indexes again."""
    lines: list[str] = []
    try:
        lease = leases.take(origin.by, wait_seconds)
    except leases.PublishBusy:
        content_table.mark_lease_dirty(int(clock.now()))
        raise
    try:
        summary = _under_lease(
            lease, lambda: _index_bucket(lines.append, origin=origin, full=True), lines.append
        )
    except PublishError as error:
        _log_rejection(error)
        raise
    assert summary is not None
    return summary


def _log_rejection(error: PublishError) -> None:
    observability.emit(
        {"type": "content", "event": "rejected", "message": str(error), "problems": error.problems}
    )
    observability.count_content_rejected(len(error.problems))


def _log_findings(plan: Plan) -> None:
    """The content checks' findings by file, line and rule: never their
    message, which can quote the page."""
    if plan.findings:
        where = [
            {"file": finding.file, "line": finding.line, "rule": finding.rule} for finding in plan.findings
        ]
        observability.emit({"type": "content", "event": "findings", "findings": where})
    observability.count_content_warnings(len(plan.findings))


def status() -> dict:
    """What the stage serves, and whether a publish is running or one
    stopped part-way (its holder gone, the lease not yet taken again)."""
    newest = content_table.releases(2)
    current = content_table.lease() or {}
    held = "owner" in current
    why = leases.stopped(current) if held else None
    return {
        "live": newest[0] if newest else None,
        "previous": newest[1] if len(newest) > 1 else None,
        "unrestorable": releases.unrestorable(newest[1]) if len(newest) > 1 else None,
        "publishing": f"{leases.describe(current)}; its lease runs to {leases.runs_to(current)}"
        if held and why is None
        else None,
        "stopped": f"{leases.describe(current)}; {why}" if why else None,
        "dirty": "dirty" in current,
    }
