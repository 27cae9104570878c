"""Splitting a publish's changed paths over EventBridge events: each event
within PutEvents' limit, every path in exactly one of them."""

from __future__ import annotations

import json

from chalicelib.content.publishing.notifications import DETAIL_TYPE, MAX_EVENTS_BYTES, SOURCE, event_details


def entry_bytes(detail: dict) -> int:
    return (
        len(SOURCE)
        + len(DETAIL_TYPE)
        + len(json.dumps(detail, ensure_ascii=False, separators=(",", ":")).encode())
    )


def test_a_small_publish_is_one_event_as_it_is():
    detail = {"stage": "prod", "created": ["/a/"], "updated": [], "deleted": ["pages/b.md"]}
    assert list(event_details(detail)) == [detail]


def test_a_publish_past_the_limit_is_split_with_every_path_once_and_each_event_within_it():
    paths = [f"/news/{'é' * 200}-{n}/" for n in range(2500)]  # about 1 MB in UTF-8
    detail = {"stage": "prod", "created": paths[:1000], "updated": paths[1000:2000], "deleted": paths[2000:]}

    parts = list(event_details(detail))

    assert len(parts) == 4  # 2,500 paths of 415 bytes: 1,037,500 bytes in 256 KB events
    for part in parts:
        assert part["stage"] == "prod" and set(part) == {"stage", "created", "updated", "deleted"}
        assert MAX_EVENTS_BYTES - 500 < entry_bytes(part) <= MAX_EVENTS_BYTES or part is parts[-1]
    for key in ("created", "updated", "deleted"):
        assert [path for part in parts for path in part[key]] == detail[key]
