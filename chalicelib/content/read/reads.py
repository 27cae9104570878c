"""The reads behind the content routes: one AWS call each, answering with
the stored JSON text. A read DynamoDB cannot serve (throttled, slow,
unreachable) is `Unavailable`, which the site can retry: never a crash."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ... import aws, observability
from ...errors import InvalidRequest, NotFound, Unavailable
from ...json_text import dumps
from ...settings import get_settings
from ...tables import content_table
from .paths import CONTROL, is_slug, normalise_path
from .summaries import summary_of

POSTS_PAGE_DEFAULT = 10
POSTS_PAGE_MAX = 50
LIST_PAGE_DEFAULT = 100
LIST_PAGE_MAX = 200
# The records of one answer: with its wrapping, well under 1 MB however large the pages.
MAX_LIST_BYTES = 900_000
MAX_CURSOR_KEY = 1024  # DynamoDB's sort key limit
POST_SORT_KEY = re.compile(r"^\d{4}-\d{2}-\d{2}#")
RETRY_AFTER_SECONDS = 5
MAX_TAG_LENGTH = 200


@dataclass(frozen=True)
class Found:
    json: str = ""
    redirect_to: str | None = None
    status: int = 301
    modified: str | None = None  # when this answer last changed, for Last-Modified


@contextmanager
def _reading(*also: type[Exception]) -> Iterator[None]:
    try:
        yield
    except (*aws.errors(), *also) as error:
        observability.emit({"type": "content", "event": "read_failed", "error": aws.error_code(error)})
        raise Unavailable(
            f"The service is busy. Try again in {RETRY_AFTER_SECONDS} seconds.",
            retry_after=RETRY_AFTER_SECONDS,
        ) from None


def _wrap(name: str, records: list[str], **extra: object) -> str:
    # Records are stored as JSON text: splice them in rather than re-encode.
    tail = "".join(f",{json.dumps(key)}:{json.dumps(value)}" for key, value in extra.items())
    return f'{{"{name}":[{",".join(records)}]{tail}}}'


def _record(key: content_table.Key, missing: str) -> Found:
    with _reading():
        row = content_table.get(key)
    if row is None or "json" not in row:  # a redirect has no record
        raise NotFound(missing)
    return _found(row)


def _found(row: content_table.Row) -> Found:
    """A record's answer. It last changed when it was `updated`, which its
    item carries beside the JSON: no need to parse a whole page to know."""
    return Found(json=row["json"], modified=row.get("updated"))


def _checked_slug(slug: str) -> str:
    if not is_slug(slug):
        raise NotFound("No such item: names are letters, digits and hyphens.")
    return slug


def page_at_path(raw_path: str | None) -> Found:
    """The page at a path, or where it moved. A path with no item of its own
    costs a second read: the site's prefix redirects (/blog/*)."""
    path = normalise_path(raw_path)
    with _reading():
        row = content_table.get(content_table.path_key(path))
    if row is None:
        return _by_prefix(path)
    redirect = content_table.redirect_of(row)
    if redirect is not None:
        return Found(redirect_to=redirect[0], status=redirect[1])
    return _found(row)


def _by_prefix(path: str) -> Found:
    with _reading():
        row = content_table.get(content_table.REDIRECT_PREFIXES)
    rules = json.loads(row["prefixes"]) if row else []
    # The longest prefix that covers the path wins.
    for prefix, target, status, splat in sorted(rules, key=lambda rule: -len(rule[0])):
        if path.startswith(prefix) and path != prefix:
            return Found(redirect_to=target + path[len(prefix) :] if splat else target, status=status)
    raise NotFound(f"There is no page at {path}")


def page(slug: str) -> Found:
    return _record(content_table.page_key(_checked_slug(slug)), f"There is no page called {slug}")


def post(slug: str) -> Found:
    return _record(content_table.post_key(_checked_slug(slug)), f"There is no post called {slug}")


def _list(
    name: str, pk: str, raw_limit: str | None, raw_cursor: str | None, valid: Callable[[str], bool]
) -> Found:
    limit = _parse_limit(raw_limit, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)
    after = _decode_cursor(raw_cursor, valid) if raw_cursor else None
    with _reading():
        records, last, modified = content_table.list_page(pk, limit, after, MAX_LIST_BYTES)
    return Found(json=_wrap(name, records, next=_encode_cursor(last) if last else None), modified=modified)


def list_pages(raw_limit: str | None, raw_cursor: str | None) -> Found:
    """Every page served at a path or by name, a page of them at a time,
    those kept out of collections marked `"listed": false`."""
    return _list("pages", content_table.PAGES, raw_limit, raw_cursor, is_slug)


def collection(tag: str, include: str | None, raw_limit: str | None, raw_cursor: str | None) -> Found:
    """A collection's items without their bodies (a menu needs titles and
    paths), or in full with `include=html`, a page of them at a time."""
    if CONTROL.search(tag) or len(tag) > MAX_TAG_LENGTH:
        raise NotFound("There is no such collection.")
    if include not in (None, "", "html"):
        raise InvalidRequest("include can only be html.")
    limit = _parse_limit(raw_limit, LIST_PAGE_DEFAULT, LIST_PAGE_MAX)
    after = _decode_cursor(raw_cursor, bool) if raw_cursor else None
    with _reading():
        items, last, modified = content_table.list_page(
            content_table.collection_partition(tag), limit, after, MAX_LIST_BYTES
        )
    if not items and after is None:
        raise NotFound(f"There is no collection tagged {tag}")
    if include != "html":
        items = [dumps(summary_of(json.loads(item))) for item in items]
    return Found(json=_wrap("items", items, next=_encode_cursor(last) if last else None), modified=modified)


def list_documents(raw_limit: str | None, raw_cursor: str | None) -> Found:
    return _list("documents", content_table.DOCUMENTS, raw_limit, raw_cursor, bool)


def list_posts(raw_limit: str | None, raw_cursor: str | None) -> Found:
    limit = _parse_limit(raw_limit)
    after = _decode_cursor(raw_cursor, POST_SORT_KEY.match) if raw_cursor else None
    with _reading():
        posts, last, modified = content_table.newest_posts_page(limit, after)
    return Found(json=_wrap("posts", posts, next=_encode_cursor(last) if last else None), modified=modified)


def health() -> dict:
    return {"status": "ok", "stage": get_settings().stage}


def _parse_limit(raw: str | None, default: int = POSTS_PAGE_DEFAULT, most: int = POSTS_PAGE_MAX) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise InvalidRequest(f"limit must be a whole number from 1 to {most}.")
    return int(raw)


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, valid: Callable[[str], object]) -> str:
    """The sort key a `next` value stands for; `valid` says whether the
    list's sort keys look like it."""
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sort_key = ""
    if not sort_key or not valid(sort_key) or CONTROL.search(sort_key) or len(sort_key) > MAX_CURSOR_KEY:
        raise InvalidRequest("That cursor is not valid: use the `next` value from the last page.")
    return sort_key


# Search, feeds, sitemap, preview ----------------------------------------------------

SEARCH_DEFAULT = 10
SEARCH_MAX = 50


def search(raw_query: str | None, raw_limit: str | None) -> Found:
    """The public pages and posts best matching the query, from the index the
    last publish built: at most two reads (search_store.py)."""
    from . import search as index_search

    query = (raw_query or "").strip()
    if not query:
        raise InvalidRequest("Give some words to search for, like ?q=leadership")
    if len(query) > index_search.MAX_QUERY_LENGTH or CONTROL.search(query):
        raise InvalidRequest(f"q must be {index_search.MAX_QUERY_LENGTH} characters or fewer, on one line.")
    limit = _parse_limit(raw_limit, SEARCH_DEFAULT, SEARCH_MAX)
    from . import search_store

    with _reading(content_table.UnprocessedReads, search_store.IndexBusy):
        results, modified = search_store.find(query, limit)
    return Found(json=dumps({"query": query, "results": results}), modified=modified)


def atom_feed() -> Found:
    return _derived_text(content_table.ATOM_FEED)


def json_feed() -> Found:
    return _derived_text(content_table.JSON_FEED)


def sitemap() -> Found:
    return _derived_text(content_table.SITEMAP)


def _derived_text(name: str) -> Found:
    """A feed or the sitemap, as the last publish built it."""
    with _reading():
        row = content_table.get(content_table.derived_key(name))
    if row is None:
        raise NotFound("Nothing is published yet.")
    return Found(json=zlib.decompress(row["body"]).decode(), modified=row["modified"])


def preview(raw_path: str | None) -> str:
    """A draft's or scheduled page's record, for staff."""
    path = normalise_path(raw_path)
    return _record(content_table.preview_key(path), f"There is no draft or scheduled page at {path}").json
