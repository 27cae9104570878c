"""The content table: its item layout, the reads behind every content route,
and the batched writes publishing makes.

Every read is one GetItem or one Query, never a Scan. Records are stored as
the JSON the API returns (attribute `json`), so a read is a lookup and a copy.

    pk                sk                       holds
    path#<url path>   -                        the page at that path, or a redirect
    page#<slug>       -                        a page, in full
    post#<slug>       -                        a blog post, in full
    pages             <slug>                   a page summary (no html)
    posts             <YYYY-MM-DD>#<slug>      a post summary, newest last
    tag#<tag>         <order>#<title>#<slug>   a collection item, in full, menu order
    documents         <url>                    a linked document
    source            <relative file path>     what publishing wrote for that file
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import time
from contextlib import contextmanager
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, TypeVar
from urllib.parse import unquote

from . import aws, observability
from .http import bad_request, not_found, service_unavailable
from .settings import get_settings

DETAIL = "-"
MAX_PATH_LENGTH = 1024
POSTS_PAGE_DEFAULT = 10
POSTS_PAGE_MAX = 50
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,199}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


# Keys -----------------------------------------------------------------------

Key = tuple[str, str]


def path_key(path: str) -> Key:
    return (f"path#{path}", DETAIL)


def page_key(slug: str) -> Key:
    return (f"page#{slug}", DETAIL)


def post_key(slug: str) -> Key:
    return (f"post#{slug}", DETAIL)


def page_summary_key(slug: str) -> Key:
    return ("pages", slug)


def post_summary_key(date: str, slug: str) -> Key:
    return ("posts", f"{date}#{slug}")


def collection_key(tag: str, order: int | None, title: str, slug: str) -> Key:
    # Eleventy's menus sort by `order`, then title; unordered items come last.
    rank = f"{order + 10**9:012d}" if order is not None else "~"
    return (f"tag#{tag}", f"{rank}#{title.casefold()}#{slug}")


def document_key(url: str) -> Key:
    return ("documents", url)


def source_key(relative_path: str) -> Key:
    return ("source", relative_path)


def normalise_path(raw: str | None) -> str:
    """A site URL path as the site serves it: `/what-we-do/index.html`,
    `/what-we-do` and `/what-we-do/` all become `/what-we-do/`."""
    if raw is None or not raw.strip():
        raise bad_request("Give the page's URL path, like ?path=/what-we-do/")
    path = unquote(raw.strip())
    if len(path) > MAX_PATH_LENGTH or _CONTROL.search(path):
        raise bad_request("That path is not a valid URL path.")
    if not path.startswith("/") or path.startswith("//"):
        raise bad_request("The path must start with a single /, like /what-we-do/")
    path = path.split("?", 1)[0].split("#", 1)[0]
    if any(segment in (".", "..") for segment in path.split("/")):
        raise bad_request("The path must not contain . or .. segments.")
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    last = path.rsplit("/", 1)[-1]
    if last and "." not in last:
        path += "/"
    return path


def _checked_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise not_found("No such item: names are letters, digits and hyphens.")
    return slug


# Reads (one AWS call each) --------------------------------------------------


@dataclass(frozen=True)
class Found:
    json: str = ""
    redirect_to: str | None = None


@contextmanager
def _reading() -> Iterator[None]:
    """A read that DynamoDB cannot serve (throttled, unreachable) is a 503
    the site can retry, never a 500."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        observability.emit({"type": "content", "event": "read_failed", "error": aws.error_code(error)})
        raise service_unavailable() from None


def _item(key: Key) -> dict | None:
    with _reading():
        response = aws.dynamodb().get_item(
            TableName=get_settings().content_table,
            Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        )
    return response.get("Item")


def _query(pk: str, **extra: Any) -> dict:
    with _reading():
        return aws.dynamodb().query(
            TableName=get_settings().content_table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="#json",
            ExpressionAttributeNames={"#json": "json"},
            **extra,
        )


def _wrap(name: str, items: Iterable[dict], **extra: Any) -> str:
    # Records are stored as JSON text: splice them in rather than re-encode.
    joined = ",".join(item["json"]["S"] for item in items)
    tail = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in extra.items())
    return f'{{"{name}":[{joined}]{tail}}}'


def page_at_path(raw_path: str | None) -> Found:
    path = normalise_path(raw_path)
    item = _item(path_key(path))
    if item is None:
        raise not_found(f"There is no page at {path}")
    if "redirect" in item:
        return Found(redirect_to=item["redirect"]["S"])
    return Found(json=item["json"]["S"])


def page(slug: str) -> str:
    item = _item(page_key(_checked_slug(slug)))
    if item is None:
        raise not_found(f"There is no page called {slug}")
    return item["json"]["S"]


def post(slug: str) -> str:
    item = _item(post_key(_checked_slug(slug)))
    if item is None:
        raise not_found(f"There is no post called {slug}")
    return item["json"]["S"]


def list_pages() -> str:
    return _wrap("pages", _query_all("pages"))


def collection(tag: str) -> str:
    if _CONTROL.search(tag) or len(tag) > 200:
        raise not_found("There is no such collection.")
    items = list(_query_all(f"tag#{tag}"))
    if not items:
        raise not_found(f"There is no collection tagged {tag}")
    return _wrap("items", items)


def list_documents() -> str:
    return _wrap("documents", _query_all("documents"))


def list_posts(raw_limit: str | None, raw_cursor: str | None) -> str:
    limit = _parse_limit(raw_limit)
    extra: dict[str, Any] = {"ScanIndexForward": False, "Limit": limit}
    if raw_cursor:
        extra["ExclusiveStartKey"] = _decode_cursor(raw_cursor)
    response = _query("posts", **extra)
    last = response.get("LastEvaluatedKey")
    return _wrap("posts", response.get("Items", []), next=_encode_cursor(last) if last else None)


def health() -> dict:
    return {"status": "ok", "stage": get_settings().stage}


def _query_all(pk: str) -> Iterator[dict]:
    # Lists are small (a site's pages); pagination only past DynamoDB's 1 MB.
    extra: dict[str, Any] = {}
    while True:
        response = _query(pk, **extra)
        yield from response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def _parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return POSTS_PAGE_DEFAULT
    if not raw.isdigit() or not 1 <= int(raw) <= POSTS_PAGE_MAX:
        raise bad_request(f"limit must be a whole number from 1 to {POSTS_PAGE_MAX}.")
    return int(raw)


def _encode_cursor(key: dict) -> str:
    return base64.urlsafe_b64encode(key["sk"]["S"].encode("utf-8")).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str) -> dict:
    try:
        sort_key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        sort_key = ""
    if not re.match(r"^\d{4}-\d{2}-\d{2}#", sort_key) or _CONTROL.search(sort_key):
        raise bad_request("That cursor is not valid: use the `next` value from the last page.")
    return {"pk": {"S": "posts"}, "sk": {"S": sort_key}}


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
        for item in response.get("Items", []):
            items[item["sk"]["S"]] = item
        if "LastEvaluatedKey" not in response:
            return items
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def item(key: Key, **attributes: str | list[str]) -> dict:
    """A DynamoDB item: string attributes, or string lists (as JSON text)."""
    record = {"pk": {"S": key[0]}, "sk": {"S": key[1]}}
    for name, value in attributes.items():
        record[name] = {"S": value if isinstance(value, str) else json.dumps(value)}
    return record


BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit
MAX_BATCH_ATTEMPTS = 8
PARALLEL_REQUESTS = 8
T = TypeVar("T")
R = TypeVar("R")


def write_batch(puts: list[dict], deletes: list[Key]) -> int:
    """Put and delete items in batches of 25, retrying unprocessed ones.

    Returns the number of BatchWriteItem calls made.
    """
    table = get_settings().content_table
    requests = [{"PutRequest": {"Item": put}} for put in puts] + [
        {"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in deletes
    ]

    def write(batch: list[dict]) -> int:
        pending = batch
        for attempt in range(MAX_BATCH_ATTEMPTS):
            response = aws.dynamodb().batch_write_item(RequestItems={table: pending})
            pending = response.get("UnprocessedItems", {}).get(table, [])
            if not pending:
                return attempt + 1
            time.sleep(min(0.05 * 2**attempt, 2.0))  # DynamoDB asks for backoff
        raise RuntimeError(f"DynamoDB left {len(pending)} writes unprocessed; publish again")

    batches = [requests[start : start + BATCH_SIZE] for start in range(0, len(requests), BATCH_SIZE)]
    return sum(in_parallel(write, batches))


def in_parallel(work: Callable[[T], R], items: list[T]) -> list[R]:
    """Run I/O-bound work on a few threads (boto3 clients are thread-safe)."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        return list(pool.map(work, items))
