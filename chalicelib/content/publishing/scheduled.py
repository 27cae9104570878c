"""The scheduled go-live: scheduled pages go live with no republish by hand.
Every few minutes `publish_due` looks for one whose time has come (one
Query) and, if there is one, re-indexes from the bucket, as the upload
handler does, so it goes live exactly as a publish would make it."""

from __future__ import annotations

from collections.abc import Callable

from ... import clock
from ...tables import content_table
from . import publish, visibility
from .reconcile import Summary

Report = Callable[[str], None]


def publish_due(report: Report = print) -> Summary | None:
    """Make every scheduled page whose time has come public, as a publish
    would. One Query when none is due."""
    if not content_table.any_pending_due(visibility.utc_text(clock.now())):
        return None
    return publish.publish_scheduled(report)
