"""The reads behind the content routes: one AWS call each, answering with
the stored JSON text. A read DynamoDB cannot serve (throttled, slow,
unreachable) is `Unavailable`, which the site can retry: never a crash."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .. import aws, observability
from ..errors import InvalidRequest, NotFound, Unavailable
from ..settings import get_settings
from ..tables import content_table
from .paths import CONTROL, is_slug, normalise_path

POSTS_PAGE_DEFAULT = 10
POSTS_PAGE_MAX = 50
RETRY_AFTER_SECONDS = 5
MAX_TAG_LENGTH = 200


@dataclass(frozen=True)
class Found:
    json: str = ""
    redirect_to: str | None = None
    status: int = 301


@contextmanager
def _reading() -> Iterator[None]:
    try:
        yield
    except aws.errors() as error:
        observability.emit({"type": "content", "event": "read_failed", "error": aws.error_code(error)})
        raise Unavailable(
            f"The service is busy. Try again in {RETRY_AFTER_SECONDS} seconds.",
            retry_after=RETRY_AFTER_SECONDS,
        ) from None


def _wrap(name: str, records: list[str], **extra: object) -> str:
    # Records are stored as JSON text: splice them in rather than re-encode.
    tail = "".join(f",{json.dumps(key)}:{json.dumps(value)}" for key, value in extra.items())
    return f'{{"{name}":[{",".join(records)}]{tail}}}'


def _record(key: content_table.Key, missing: str) -> str:
    with _reading():
        stored = content_table.get(key)
    text = content_table.record_json(stored) if stored else None
    if text is None:
        raise NotFound(missing)
    return text


def _checked_slug(slug: str) -> str:
    if not is_slug(slug):
        raise NotFound("No such item: names are letters, digits and hyphens.")
    return slug


def page_at_path(raw_path: str | None) -> Found:
    """The page at a path, or where it moved. A path with no item of its own
    costs a second read: the site's prefix redirects (/blog/*)."""
    path = normalise_path(raw_path)
    with _reading():
        stored = content_table.get(content_table.path_key(path))
    if stored is None:
        return _by_prefix(path)
    redirect = content_table.redirect_of(stored)
    if redirect is not None:
        return Found(redirect_to=redirect[0], status=redirect[1])
    return Found(json=stored["json"]["S"])


def _by_prefix(path: str) -> Found:
    with _reading():
        stored = content_table.get(content_table.REDIRECT_PREFIXES)
    rules = json.loads(stored["prefixes"]["S"]) if stored else []
    # The longest prefix that covers the path wins.
    for prefix, target, status, splat in sorted(rules, key=lambda rule: -len(rule[0])):
        if path.startswith(prefix) and path != prefix:
            return Found(redirect_to=target + path[len(prefix) :] if splat else target, status=status)
    raise NotFound(f"There is no page at {path}")


def page(slug: str) -> str:
    return _record(content_table.page_key(_checked_slug(slug)), f"There is no page called {slug}")


def post(slug: str) -> str:
    return _record(content_table.post_key(_checked_slug(slug)), f"There is no post called {slug}")


def list_pages() -> str:
    with _reading():
        return _wrap("pages", list(content_table.records(content_table.PAGES)))


def collection(tag: str) -> str:
    if CONTROL.search(tag) or len(tag) > MAX_TAG_LENGTH:
        raise NotFound("There is no such collection.")
    with _reading():
        items = list(content_table.records(content_table.collection_partition(tag)))
    if not items:
        raise NotFound(f"There is no collection tagged {tag}")
    return _wrap("items", items)


def list_documents() -> str:
    with _reading():
        return _wrap("documents", list(content_table.records(content_table.DOCUMENTS)))


def list_posts(raw_limit: str | None, raw_cursor: str | None) -> str:
    limit = _parse_limit(raw_limit)
    after = _decode_cursor(raw_cursor) if raw_cursor else None
    with _reading():
        posts, last = content_table.newest_posts(limit, after)
    return _wrap("posts", posts, next=_encode_cursor(last) if last else None)


def health() -> dict:
    return {"status": "ok", "stage": get_settings().stage}


def _parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return POSTS_PAGE_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= POSTS_PAGE_MAX:
        raise InvalidRequest(f"limit must be a whole number from 1 to {POSTS_PAGE_MAX}.")
    return int(raw)


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> str:
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sort_key = ""
    if not re.match(r"^\d{4}-\d{2}-\d{2}#", sort_key) or CONTROL.search(sort_key):
        raise InvalidRequest("That cursor is not valid: use the `next` value from the last page.")
    return sort_key
