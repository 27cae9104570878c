"""When a page is public, shared by rendering (collections hold public pages
only) and publishing (the routes and feeds): a draft never is; a page with
`publish_at` is from that moment on. Pure: the caller gives the time."""

from __future__ import annotations

import datetime as dt


def visible(draft: bool, due: dt.datetime | None, now: float) -> bool:
    return not draft and (due is None or due.timestamp() <= now)
