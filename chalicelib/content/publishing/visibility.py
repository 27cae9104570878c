"""Whether a page is public: a draft never is; a page with `publish_at` is
from that moment on. Pure: the caller gives the time (`clock.now()`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ..schedule import visible

if TYPE_CHECKING:
    from ..eleventy.rendering import RenderedPage


def is_draft(page: RenderedPage) -> bool:
    return page.fields.get("draft") is True


def publish_at(page: RenderedPage) -> dt.datetime | None:
    """When a scheduled page becomes public (front matter validated it as an
    ISO 8601 time with a timezone; the record holds it as text)."""
    value = page.fields.get("publish_at")
    return dt.datetime.fromisoformat(value) if value else None


def is_public(page: RenderedPage, now: float) -> bool:
    return visible(is_draft(page), publish_at(page), now)


def utc_text(moment: dt.datetime | float) -> str:
    """A moment as the table and the feeds write it: 2027-01-04T09:00:00Z."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime.fromtimestamp(moment, dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
