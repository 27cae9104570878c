"""The content table: its item layout, the reads behind every content route,
and the batched writes publishing makes.

Every read is one GetItem or one Query, never a Scan. Records are stored as
the JSON the API returns (attribute `json`), so a read is a lookup and a copy.

    pk                sk                       holds
    path#<url path>   -                        the page at that path, or a redirect (and its status)
    redirects         prefixes                 the site's prefix redirects (/blog/* to /posts/:splat)
    page#<slug>       -                        a page, in full
    post#<slug>       -                        a blog post, in full
    pages             <slug>                   a page summary (no html)
    posts             <YYYY-MM-DD>#<slug>      a post summary, newest last
    tag#<name>        <rank>                   a collection item, in full, in the collection's order
    documents         <url>                    a linked document
    source            <relative file path>     what publishing wrote for that file

and, for readers and editors beyond a page (the section at the end):

    derived           search|sitemap|atom|jsonfeed   built from every public page at publish
    changes           page#.. list#.. record#..      when each page, list and derived record last changed
    <list pk>         ~modified                when that list (pages, posts, tag#x, documents) last changed
    preview#<path>    -                        a draft's or scheduled page's record, for staff only
                                               (by file when it has no URL: preview#pages/x.md)
    pending           <publish_at>#<source>    a scheduled page, by when it is due (UTC)

AWS errors propagate: the caller decides what a failure means.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .. import aws
from ..settings import get_settings

DETAIL = "-"
BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit
MAX_BATCH_ATTEMPTS = 8
PARALLEL_REQUESTS = 8

Key = tuple[str, str]


# Keys -----------------------------------------------------------------------

PAGES = "pages"
POSTS = "posts"
DOCUMENTS = "documents"
SOURCES = "source"


def path_key(path: str) -> Key:
    return (f"path#{path}", DETAIL)


def page_key(slug: str) -> Key:
    return (f"page#{slug}", DETAIL)


def post_key(slug: str) -> Key:
    return (f"post#{slug}", DETAIL)


def page_summary_key(slug: str) -> Key:
    return (PAGES, slug)


def post_summary_key(date: str, slug: str) -> Key:
    return (POSTS, f"{date}#{slug}")


def collection_partition(tag: str) -> str:
    return f"tag#{tag}"


def collection_key(name: str, rank: str) -> Key:
    """An item of a collection (a tag's or a custom one), at its place:
    `rank` sorts as the collection is ordered (see rendering.py)."""
    return (collection_partition(name), rank)


REDIRECT_PREFIXES: Key = ("redirects", "prefixes")


def redirect_item(old_path: str, target: str, status: int) -> dict:
    return item(path_key(old_path), redirect=target, status=str(status))


def redirect_of(stored: dict) -> tuple[str, int] | None:
    """Where a path item redirects, and with which status; None for a page."""
    if "redirect" not in stored:
        return None
    return stored["redirect"]["S"], int(stored["status"]["S"]) if "status" in stored else 301


def document_key(url: str) -> Key:
    return (DOCUMENTS, url)


def is_document_key(key: Key) -> bool:
    return key[0] == DOCUMENTS


def source_key(relative_path: str) -> Key:
    return (SOURCES, relative_path)


def _key(key: Key) -> dict:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


def item(key: Key, **attributes: str | list[str] | list[list[str]]) -> dict:
    """A DynamoDB item: string attributes, or string lists (as JSON text)."""
    record = _key(key)
    for name, value in attributes.items():
        record[name] = {"S": value if isinstance(value, str) else json.dumps(value)}
    return record


def item_key(stored: dict) -> Key:
    return (stored["pk"]["S"], stored["sk"]["S"])


def record_json(stored: dict) -> str | None:
    """The stored record's JSON text; None for a redirect, which has none."""
    return stored["json"]["S"] if "json" in stored else None


def text_attribute(stored: dict, name: str) -> str | None:
    return stored[name]["S"] if name in stored else None


# Reads (one AWS call each) --------------------------------------------------


def get(key: Key) -> dict | None:
    response = aws.dynamodb().get_item(TableName=get_settings().content_table, Key=_key(key))
    return response.get("Item")


# Writes (publishing only) ---------------------------------------------------


def read_partition(pk: str) -> dict[str, dict]:
    """Every item under one partition key, by sort key, with all attributes."""
    items: dict[str, dict] = {}
    extra: dict[str, Any] = {}
    while True:
        response = aws.dynamodb().query(
            TableName=get_settings().content_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ConsistentRead=True,
            **extra,
        )
        for stored in response.get("Items", []):
            if stored["sk"]["S"] != LIST_MARKER:  # a list's marker is not one of its records
                items[stored["sk"]["S"]] = stored
        if "LastEvaluatedKey" not in response:
            return items
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


class UnprocessedWrites(Exception):
    """DynamoDB kept refusing part of a batch; publishing again finishes it."""


def write_batch(puts: list[dict], deletes: list[Key]) -> int:
    """Put and delete items in batches of 25, retrying unprocessed ones.

    Returns the number of BatchWriteItem calls made.
    """
    table = get_settings().content_table
    requests = [{"PutRequest": {"Item": put}} for put in puts] + [
        {"DeleteRequest": {"Key": _key(key)}} for key in deletes
    ]

    def write(batch: list[dict]) -> int:
        pending = batch
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = aws.dynamodb().batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                return attempt + 1
            time.sleep(min(0.05 * 2**attempt, 2.0))  # DynamoDB asks for backoff
        raise UnprocessedWrites(f"DynamoDB left {len(pending)} writes unprocessed; publish again")

    batches = [requests[start : start + BATCH_SIZE] for start in range(0, len(requests), BATCH_SIZE)]
    return sum(in_parallel(write, batches))


def in_parallel[T, R](work: Callable[[T], R], items: list[T]) -> list[R]:
    """Run I/O-bound work on a few threads (boto3 clients are thread-safe)."""
    if len(items) <= 1:
        return [work(one) for one in items]
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        return list(pool.map(work, items))


# Search, feeds, sitemap, drafts and scheduling, list markers ------------------
#
# Written by publishing through content/derived.py, in the same batches as the
# pages. A list's marker sorts after its records (after every post, so a
# newest-first Query meets it first) and holds when the list last changed.

DERIVED = "derived"
CHANGES = "changes"
PENDING = "pending"
LIST_MARKER = "~modified"
# The derived records, each one compressed item (`body`).
SEARCH_INDEX, SITEMAP, ATOM_FEED, JSON_FEED = "search", "sitemap", "atom", "jsonfeed"


def derived_key(name: str) -> Key:
    return (DERIVED, name)


def change_key(subject: str) -> Key:
    return (CHANGES, subject)


def list_marker_key(list_pk: str) -> Key:
    return (list_pk, LIST_MARKER)


def preview_key(path_or_source: str) -> Key:
    return (f"preview#{path_or_source}", DETAIL)


def pending_key(due: str, source: str) -> Key:
    return (PENDING, f"{due}#{source}")


def binary_item(key: Key, body: bytes, **attributes: str) -> dict:
    """An item whose `body` is bytes (compressed text), with string attributes."""
    return {**item(key, **attributes), "body": {"B": body}}


def list_records(pk: str) -> tuple[list[str], str | None]:
    """Every record's JSON under a list's partition, in sort-key order, and
    when the list last changed (None before its first marker). Lists are
    small (a site's pages): more than one call only past DynamoDB's 1 MB."""
    found: list[str] = []
    modified = None
    extra: dict[str, Any] = {}
    while True:
        response = _query_list(pk, **extra)
        for stored in response.get("Items", []):
            if stored["sk"]["S"] == LIST_MARKER:
                modified = stored["modified"]["S"]
            else:
                found.append(stored["json"]["S"])
        if "LastEvaluatedKey" not in response:
            return found, modified
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def newest_posts_page(limit: int, after_sort_key: str | None) -> tuple[list[str], str | None, str | None]:
    """One page of post summaries, newest first; the sort key to go on from
    (None on the last page); and, on the first page, when the list last
    changed. The marker sorts first newest-first, so it costs no extra call."""
    extra: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit + (after_sort_key is None)}
    if after_sort_key is not None:
        extra["ExclusiveStartKey"] = _key((POSTS, after_sort_key))
    response = _query_list(POSTS, **extra)
    stored = response.get("Items", [])
    modified = None
    if stored and stored[0]["sk"]["S"] == LIST_MARKER:
        modified = stored.pop(0)["modified"]["S"]
    last = response.get("LastEvaluatedKey")
    next_key = last["sk"]["S"] if last and last["sk"]["S"] != LIST_MARKER else None
    if len(stored) > limit:  # no marker yet: the extra item is a post
        stored = stored[:limit]
        next_key = stored[-1]["sk"]["S"]
    return [one["json"]["S"] for one in stored], next_key, modified


def _query_list(pk: str, **extra: Any) -> dict:
    return aws.dynamodb().query(
        TableName=get_settings().content_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ProjectionExpression="sk, #json, modified",
        ExpressionAttributeNames={"#json": "json"},
        **extra,
    )


def any_pending_due(now: str) -> bool:
    """Whether a scheduled page is due by `now` (UTC, as pending keys hold it)."""
    response = aws.dynamodb().query(
        TableName=get_settings().content_table,
        KeyConditionExpression="pk = :pk AND sk <= :now",
        ExpressionAttributeValues={":pk": {"S": PENDING}, ":now": {"S": f"{now}~"}},
        ProjectionExpression="sk",
        Limit=1,
    )
    return bool(response.get("Items"))
