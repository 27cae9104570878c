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

AWS errors propagate: the caller decides what a failure means.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
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


def _query_records(pk: str, **extra: Any) -> dict:
    return aws.dynamodb().query(
        TableName=get_settings().content_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ProjectionExpression="#json",
        ExpressionAttributeNames={"#json": "json"},
        **extra,
    )


def records(pk: str) -> Iterator[str]:
    """Every record's JSON under a partition, in sort-key order. Lists are
    small (a site's pages): more than one call only past DynamoDB's 1 MB."""
    extra: dict[str, Any] = {}
    while True:
        response = _query_records(pk, **extra)
        for stored in response.get("Items", []):
            yield stored["json"]["S"]
        if "LastEvaluatedKey" not in response:
            return
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def newest_posts(limit: int, after_sort_key: str | None) -> tuple[list[str], str | None]:
    """One page of post summaries, newest first, and the sort key to go on
    from (None on the last page)."""
    extra: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit}
    if after_sort_key is not None:
        extra["ExclusiveStartKey"] = _key((POSTS, after_sort_key))
    response = _query_records(POSTS, **extra)
    last = response.get("LastEvaluatedKey")
    return [stored["json"]["S"] for stored in response.get("Items", [])], last["sk"]["S"] if last else None


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
