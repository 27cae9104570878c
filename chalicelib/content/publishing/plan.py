"""A set of sources checked whole before anything is written: rendered as
Eleventy would, and within every limit S3 and DynamoDB set, each problem
named with its file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..eleventy.netlify_redirects import RedirectPlan
    from ..eleventy.rendering import RenderedPage

from ...errors import Refused
from ...names import SOURCE_PREFIX
from ...settings import get_settings
from ...tables import content_table
from ..eleventy.limits import MAX_SOURCE_BYTES
from ..eleventy.problems import ContentError
from . import items
from .items import TIMESTAMP

Report = Callable[[str], None]
Key = content_table.Key


class PublishError(Refused):
    """Content that cannot be published, each problem named; nothing was
    written, and the table keeps the last good set. `found` holds each
    problem in the content (`problems`, its words)."""

    code = "content_invalid"

    def __init__(self, message: str, found: list[ContentError] | None = None) -> None:
        problems = [str(problem) for problem in found or []]
        super().__init__(message, problems=problems)
        self.found = found or []
        self.problems = problems


def load_directory(content_dir: Path) -> dict[str, bytes]:
    """The content files of a folder: a content folder or the site's whole
    repository (see sources.py for which files count)."""
    from ..eleventy.sources import read_directory

    if not content_dir.is_dir():
        raise PublishError(f"{content_dir} is not a folder")
    return read_directory(content_dir)


@dataclass
class Plan:
    """A set of sources that publishes: rendered, and within every limit."""

    sources: dict[str, bytes]
    pages: list[RenderedPage]
    warnings: list[ContentError]
    redirects: RedirectPlan
    findings: list[ContentError] = field(default_factory=list)  # the content checks' warnings


def prepare(sources: dict[str, bytes], report: Report) -> Plan:
    """Validate and render the whole set; PublishError naming every problem."""
    from ..eleventy.problems import ContentInvalid, unexpected
    from ..eleventy.rendering import build_site

    errors = _file_problems(sources)
    refused = {error.file for error in errors}
    site = None
    try:
        site = build_site(
            {name: raw for name, raw in sources.items() if name not in refused}, get_settings().site_url
        )
        if site is not None:
            errors += _table_problems(site.pages, site.redirects)
    except ContentInvalid as invalid:
        errors += invalid.errors
    except Exception as failure:  # nothing escapes: a set that cannot be built is refused
        errors.append(unexpected("the content", failure))
    if errors:
        for error in errors:
            report(f"error: {error} [{error.rule}]")
        raise PublishError(f"{len(errors)} problem(s) in the content; nothing was published", errors)
    assert site is not None
    for warning in [*site.warnings, *site.findings]:
        report(f"warning: {warning} [{warning.rule}]")
    return Plan(sources, site.pages, site.warnings, site.redirects, site.findings)


def _file_problems(sources: dict[str, bytes]) -> list[ContentError]:
    errors = []
    for name, raw in sorted(sources.items()):
        if len(raw) > MAX_SOURCE_BYTES:
            errors.append(
                ContentError(
                    name,
                    f"is {len(raw):,} bytes; a source file can be at most {MAX_SOURCE_BYTES:,}",
                    rule="file-too-large",
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
                    rule="file-name-too-long",
                )
            )
    return errors


def _table_problems(pages: list[RenderedPage], redirects: RedirectPlan) -> list[ContentError]:
    """What DynamoDB would refuse, found before anything is written: each
    problem once per file, naming the field that causes it."""
    placeholder = datetime.fromtimestamp(0, UTC).strftime(TIMESTAMP)
    found: dict[tuple[str, str | None, str], ContentError] = {}
    owners: dict[Key, str] = {}

    def add(source: str, field_name: str | None, problem: str, rule: str) -> None:
        # Once per file, field and limit ("makes a DynamoDB item"), whatever the sizes.
        limit = problem.split(" of ")[0]
        found.setdefault(
            (source, field_name, limit), ContentError(source, problem, field=field_name, rule=rule)
        )

    def check(source: str, key_field: str | None, size_field: str, stored: dict) -> None:
        key = content_table.item_key(stored)
        for problem in content_table.key_problems(stored):
            add(source, key_field, problem, "record-key-too-large")
        too_large = content_table.size_problem(stored)
        if too_large:
            add(source, size_field, too_large, "record-too-large")
        other = owners.setdefault(key, source)
        if other != source:
            add(source, key_field, f"makes the same record as {other} ({key[0]})", "duplicate-record")

    for page in pages:
        largest = items.largest_field(page.record(placeholder))
        for key_field, stored in items.page_items(page, placeholder):
            check(page.source, key_field, largest, stored)
    for stored, source in items.document_items(pages):
        check(source, "documents", "documents", stored)
    for stored in items.redirect_items(redirects):
        check("netlify.toml or _redirects", "from", "redirects", stored)
    return list(found.values())
