"""What the staff routes (/admin, behind IAM) do: re-index the content from
the bucket, list submissions by status and retry one."""
from __future__ import annotations

from .http import ApiError


def reindex() -> dict:
    """Rebuild the content table from the bucket's sources, as the indexing
    handler does after an upload; writes only what changed."""
    from . import publishing

    lines: list[str] = []
    try:
        summary = publishing.index_bucket(report=lines.append)
    except publishing.PublishError as error:
        problems = [line.removeprefix("error: ") for line in lines if line.startswith("error: ")]
        raise ApiError(422, "content_invalid", f"{error}.", problems=problems) from None
    return {
        "created": summary.created,
        "updated": summary.updated,
        "deleted": summary.deleted,
        "unchanged": summary.unchanged,
        "warnings": summary.warnings,
    }
