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
    preview#<path>    -                        a draft's or scheduled page's record, for staff only
                                               (by file when it has no URL: preview#pages/x.md)
    pending           <publish_at>#<source>    a scheduled page, by when it is due (UTC)
    release           <published at>           what one publish published (newest last)
    release-files     <published at>#<n>       the rest of a release's file list, past one item
    lease#publish     -                        who is publishing now (one at a time)

Publishing owns every partition above but the last two: each of its items
carries `fp` (a fingerprint of what it holds), and pages' items `source` and
`updated`, so a publish compares what the table holds with what the
sources render, whatever wrote it before. Beside them, for readers and
editors beyond a page (the section at the end), content/publishing/derived.py keeps
what it builds from every public page, each written only when it changed:

    derived           search|sitemap|atom|jsonfeed   built from every public page at publish
                                               (search: the index's header)
    search            <shard>.<slot>           a shard of the search index (t<n> terms, d<n> texts):
                                               two slots, so a publish writes a changed shard
                                               beside the live one and switches the header after
    changes           page#.. list#.. record#..      when each page, list and derived record last changed
    <list pk>         ~modified                when that list (pages, posts, tag#x, documents) last changed

Reads give decoded rows (`Row`: attributes as Python values), except for
publishing's own bookkeeping (the items it owns, its releases, the lease):
it compares those with, and rewrites them as, the items it builds, so they
stay as stored, read through the accessors here.

AWS errors propagate: the caller decides what a failure means.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypedDict, cast

from .. import aws
from ..names import CONTENT_TABLE_KEYS
from ..settings import get_settings

DETAIL = "-"
BATCH_SIZE = 25  # DynamoDB's BatchWriteItem limit
MAX_BATCH_ATTEMPTS = 8
PARALLEL_REQUESTS = 8

Key = tuple[str, str]


class Row(TypedDict, total=False):
    """An item as a read gives it, decoded: the attributes readers use."""

    pk: str
    sk: str
    json: str  # the record, as the API returns it (none on a redirect)
    redirect: str
    status: str
    updated: str
    prefixes: str  # the prefix redirects, as JSON
    body: bytes  # compressed: a derived record or a search shard
    modified: str
    fingerprint: str
    digest: str
    inputs: str
    slots: str


def _row(stored: dict) -> Row:
    """An item's attributes as Python values: text and bytes as they are,
    numbers as ints."""
    return cast(Row, {name: _decoded(value) for name, value in stored.items()})


def _decoded(value: dict) -> str | bytes | int:
    ((kind, content),) = value.items()
    return int(content) if kind == "N" else content


# Keys -----------------------------------------------------------------------

PAGES = "pages"
POSTS = "posts"
DOCUMENTS = "documents"
RELEASES = "release"
LEASE = ("lease#publish", DETAIL)
# Partitions publishing writes; `source` held an earlier release's manifest.
_PUBLISHED_PREFIXES = ("path#", "page#", "post#", "tag#", "preview#")
_PUBLISHED_PARTITIONS = (PAGES, POSTS, DOCUMENTS, "redirects", "pending", "source")


def path_key(path: str) -> Key:
    return (f"path#{path}", DETAIL)


def path_of(key: Key) -> str | None:
    """The URL path a path item is at; None for any other item."""
    return key[0].removeprefix("path#") if key[0].startswith("path#") else None


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


def redirect_of(row: Row) -> tuple[str, int] | None:
    """Where a path item redirects, and with which status; None for a page."""
    if "redirect" not in row:
        return None
    return row["redirect"], int(row["status"]) if "status" in row else 301


def document_key(url: str) -> Key:
    return (DOCUMENTS, url)


def is_document_key(key: Key) -> bool:
    return key[0] == DOCUMENTS


def is_published(key: Key) -> bool:
    """Whether publishing owns the item: what a publish may delete. A list's
    marker is derived.py's, not one of the list's records."""
    owned = key[0].startswith(_PUBLISHED_PREFIXES) or key[0] in _PUBLISHED_PARTITIONS
    return owned and key[1] != LIST_MARKER


def is_primary(key: Key) -> bool:
    """A page's or post's own record: one per published file."""
    return key[0].startswith(("page#", "post#"))


def _key(key: Key) -> dict:
    return {"pk": {"S": key[0]}, "sk": {"S": key[1]}}


def item(key: Key, **attributes: str) -> dict:
    """A DynamoDB item of string attributes."""
    record = _key(key)
    for name, value in attributes.items():
        record[name] = {"S": value}
    return record


# What AWS refuses -----------------------------------------------------------
# moto accepts all of these, so publishing checks them itself, before its
# first write, with the rest of the content's validation.

MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_ITEM_BYTES = 400 * 1024
MAX_OBJECT_KEY_BYTES = 1024  # S3's, for the sources in the bucket


def _key_limits() -> list[tuple[str, int]]:
    """Each key attribute with its limit."""
    partition, sort = CONTENT_TABLE_KEYS
    return [(partition, MAX_PARTITION_KEY_BYTES), (sort, MAX_SORT_KEY_BYTES)]


def _value_size(value: dict) -> int:
    """Bytes DynamoDB counts for one attribute value."""
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "B":
        return len(content)
    if kind == "N":  # an upper bound: DynamoDB packs two digits a byte
        return len(content.lstrip("-").replace(".", "")) // 2 + 2
    raise ValueError(f"publishing writes no {kind} attributes")


def item_size(stored: dict) -> int:
    """The item's size as DynamoDB counts it against 400 KB: attribute
    names and values, UTF-8."""
    return sum(len(name.encode()) + _value_size(value) for name, value in stored.items())


def key_problems(stored: dict) -> list[str]:
    """What DynamoDB would refuse about the item's keys, in words."""
    problems = []
    for name, limit in _key_limits():
        if name in stored and (size := len(stored[name]["S"].encode())) > limit:
            kind = "sort" if limit == MAX_SORT_KEY_BYTES else "partition"
            problems.append(f"makes a DynamoDB {kind} key of {size:,} bytes; the limit is {limit:,} bytes")
    return problems


def size_problem(stored: dict) -> str | None:
    """What DynamoDB would say of the item's size, in words; None if it fits."""
    size = item_size(stored)
    if size <= MAX_ITEM_BYTES:
        return None
    return f"makes a DynamoDB item of {size:,} bytes; the limit is {MAX_ITEM_BYTES:,} bytes (400 KB)"


def item_key(stored: dict) -> Key:
    return (stored["pk"]["S"], stored["sk"]["S"])


def fingerprint(stored: dict) -> str:
    return "|".join(text_attribute(stored, name) or "" for name in ("fp", "updated"))


def text_attribute(stored: dict, name: str) -> str | None:
    return stored[name]["S"] if name in stored else None


# Reads (one AWS call each) --------------------------------------------------


def get(key: Key) -> Row | None:
    stored = _get(key)
    return None if stored is None else _row(stored)


def _get(key: Key) -> dict | None:
    response = aws.dynamodb().get_item(TableName=get_settings().content_table, Key=_key(key))
    return response.get("Item")


# Writes (publishing only) ---------------------------------------------------


def published_items() -> dict[Key, dict]:
    """Every item publishing owns, as the table holds it now: keys, `fp`,
    `updated` and `source` (not the records). A consistent Scan: pages live
    in a partition each (path#, page#), which no Query can list."""
    names = {"#pk": "pk", "#sk": "sk", "#fp": "fp", "#updated": "updated", "#source": "source"}
    found: dict[Key, dict] = {}
    extra: dict[str, Any] = {}
    while True:
        response = aws.dynamodb().scan(
            TableName=get_settings().content_table,
            ConsistentRead=True,
            ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
            **extra,
        )
        for stored in response.get("Items", []):
            if is_published(item_key(stored)):
                found[item_key(stored)] = stored
        if "LastEvaluatedKey" not in response:
            return found
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_partition(pk: str) -> dict[str, Row]:
    """Every item under one partition key, by sort key, with all attributes."""
    items: dict[str, Row] = {}
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
                items[stored["sk"]["S"]] = _row(stored)
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


# Releases: what each publish published -------------------------------------


# A site's file list outgrows one item at about 7,500 files (bucket version
# ids and ETags do not compress): the rest goes in parts beside the release.
RELEASE_PARTS = "release-files"
MAX_RELEASE_PART_BYTES = 300 * 1024


def release_items(release_id: str, files: dict[str, list[str]], **details: str) -> list[dict]:
    """A release: when, by whom, from what, and each file's bucket version
    and ETag (compressed: a site's file list is larger than its details);
    then the list's further parts, if it needs them."""
    blob = zlib.compress(json.dumps(files, sort_keys=True).encode())
    parts = [
        blob[start : start + MAX_RELEASE_PART_BYTES] for start in range(0, len(blob), MAX_RELEASE_PART_BYTES)
    ]
    stored = item((RELEASES, release_id), **details)
    stored["files"] = {"B": parts[0]}
    if len(parts) > 1:
        stored["parts"] = {"S": str(len(parts))}
    return [stored] + [
        binary_item(key, part) for key, part in zip(_release_part_keys(stored), parts[1:], strict=True)
    ]


def _release_part_keys(stored: dict) -> list[Key]:
    release_id = item_key(stored)[1]
    return [(RELEASE_PARTS, f"{release_id}#{n}") for n in range(1, int(text_attribute(stored, "parts") or 1))]


def release_keys(stored: dict) -> list[Key]:
    """Every item of a release: to delete it."""
    return [item_key(stored), *_release_part_keys(stored)]


def release_files(stored: dict) -> dict[str, list[str]]:
    blob = stored["files"]["B"]
    keys = _release_part_keys(stored)
    if keys:
        found = get_many(keys)
        blob += b"".join(found[key]["body"] for key in keys)
    files: dict[str, list[str]] = json.loads(zlib.decompress(blob))
    return files


def mark_release(stored: dict, **details: str) -> None:
    """Add details to a release (unless it was pruned meanwhile)."""
    from botocore.exceptions import ClientError

    names = {f"#{name}": name for name in details}
    try:
        aws.dynamodb().update_item(
            TableName=get_settings().content_table,
            Key=_key(item_key(stored)),
            UpdateExpression="SET " + ", ".join(f"#{name} = :{name}" for name in details),
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{name}": {"S": value} for name, value in details.items()},
        )
    except ClientError as error:
        if not _condition_failed(error):
            raise


def releases(limit: int) -> list[dict]:
    """The newest releases, newest first."""
    response = aws.dynamodb().query(
        TableName=get_settings().content_table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": RELEASES}},
        ConsistentRead=True,
        ScanIndexForward=False,
        Limit=limit,
    )
    items: list[dict] = response.get("Items", [])
    return items


# The publishing lease ------------------------------------------------------
# One item, taken and given back by conditional writes: a taker needs it
# free, expired, or held by the `stale` owner it saw (a process that died).


def _condition_failed(error: Exception) -> bool:
    return aws.error_code(error) == "ConditionalCheckFailedException"


def _update_lease(update: str, condition: str, values: dict[str, str | int]) -> bool:
    return _write_lease(update, condition, values) is not None


def _write_lease(update: str, condition: str, values: dict[str, str | int], **extra: Any) -> dict | None:
    """The update's returned attributes (those `extra` asks for), if its
    condition held; None if it did not."""
    from botocore.exceptions import ClientError

    try:
        response = aws.dynamodb().update_item(
            TableName=get_settings().content_table,
            Key=_key(LEASE),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames={
                name: name[1:]
                for name in ("#owner", "#process", "#expires", "#dirty")
                if name in update + condition
            },
            ExpressionAttributeValues={
                f":{name}": {"N": str(value)} if isinstance(value, int) else {"S": value}
                for name, value in values.items()
            },
            **extra,
        )
    except ClientError as error:
        if _condition_failed(error):
            return None
        raise
    attributes: dict = response.get("Attributes", {})
    return attributes


def take_lease(
    owner: str, holder: str, process: str, since: str, expires: int, now: int, stale: str = ""
) -> dict | None:
    """Take the lease: what it held before (an `owner` if it was taken over),
    or None if another holds it."""
    return _write_lease(
        "SET #owner = :owner, holder = :holder, #process = :process, since = :since, #expires = :expires",
        "attribute_not_exists(#owner) OR #expires < :now OR #owner = :stale",
        {
            "owner": owner,
            "holder": holder,
            "process": process,
            "since": since,
            "expires": expires,
            "now": now,
            "stale": stale,
        },
        ReturnValues="UPDATED_OLD",
    )


def renew_lease(owner: str, expires: int) -> bool:
    return _update_lease("SET #expires = :expires", "#owner = :owner", {"owner": owner, "expires": expires})


def mark_lease_dirty(now: int) -> bool:
    """Ask the holder to index the bucket again before it lets go; False
    when nobody holds the lease."""
    return _update_lease(
        "SET #dirty = :dirty", "attribute_exists(#owner) AND #expires >= :now", {"dirty": "1", "now": now}
    )


_FREE = "REMOVE #owner, holder, #process, since, #expires"


def release_lease(owner: str) -> bool:
    """Give the lease back, unless it was marked dirty meanwhile (False:
    index the bucket again first)."""
    return _update_lease(_FREE, "#owner = :owner AND attribute_not_exists(#dirty)", {"owner": owner})


def abandon_lease(owner: str) -> bool:
    """Give the lease back after a failure, marked dirty: the table may not
    match the bucket, and the next holder reconciles the two."""
    return _update_lease(f"SET #dirty = :dirty {_FREE}", "#owner = :owner", {"owner": owner, "dirty": "1"})


def clear_lease_dirty(owner: str) -> bool:
    return _update_lease("REMOVE #dirty", "#owner = :owner", {"owner": owner})


def lease() -> dict | None:
    return _get(LEASE)


def lease_expiry(stored: dict) -> int | None:
    """When the lease runs out (seconds since the epoch), if it is held."""
    return int(stored["expires"]["N"]) if "expires" in stored else None


# Search, feeds, sitemap, drafts and scheduling, list markers ------------------
#
# Written by publishing through content/publishing/derived.py, in the same batches as the
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


SEARCH_SHARDS = "search"
SEARCH_HEADER = (DERIVED, SEARCH_INDEX)


def search_shard_key(name: str, slot: int) -> Key:
    return (SEARCH_SHARDS, f"{name}.{slot}")


def search_shard_item(name: str, slot: int, body: bytes, digest: str) -> dict:
    return binary_item(search_shard_key(name, slot), body, digest=digest)


def get_many(keys: list[Key]) -> dict[Key, Row]:
    """The items at `keys` (at most 100) that exist: one BatchGetItem, and
    one more only for keys DynamoDB left unprocessed."""
    table = get_settings().content_table
    found: dict[Key, Row] = {}
    pending: dict[str, Any] = {table: {"Keys": [_key(key) for key in dict.fromkeys(keys)]}}
    for attempt in range(MAX_BATCH_ATTEMPTS):
        response = aws.dynamodb().batch_get_item(RequestItems=pending)
        for stored in response.get("Responses", {}).get(table, []):
            found[item_key(stored)] = _row(stored)
        pending = response.get("UnprocessedKeys") or {}
        if not pending:
            return found
        time.sleep(min(0.05 * 2**attempt, 2.0))  # DynamoDB asks for backoff
    raise UnprocessedReads(f"DynamoDB left {len(pending[table]['Keys'])} reads unprocessed")


class UnprocessedReads(Exception):
    """DynamoDB kept refusing part of a batch read."""


def change_key(subject: str) -> Key:
    return (CHANGES, subject)


def list_marker_key(list_pk: str) -> Key:
    return (list_pk, LIST_MARKER)


def preview_key(path_or_source: str) -> Key:
    return (f"preview#{path_or_source}", DETAIL)


def pending_key(due: str, source: str) -> Key:
    return (PENDING, f"{due}#{source}")


def record_of(key: Key) -> tuple[str, str] | None:
    """What a published item is part of, as (kind, name): ("path", URL
    path), ("redirects", ""), ("page" or "post", slug), ("list", pages,
    posts or documents), ("collection", tag), ("derived", SEARCH_INDEX ...).
    None for what only staff and publishing read (previews, the schedule,
    `changes`, releases, the lease)."""
    pk, sk = key
    if (path := path_of(key)) is not None:
        return ("path", path)
    if key == REDIRECT_PREFIXES:
        return ("redirects", "")
    if pk.startswith(("page#", "post#")):
        kind, _, slug = pk.partition("#")
        return (kind, slug)
    if pk in (PAGES, POSTS, DOCUMENTS):
        return ("list", pk)
    if pk.startswith("tag#"):
        return ("collection", pk.removeprefix("tag#"))
    if pk == DERIVED:
        return ("derived", sk)
    return None


def binary_item(key: Key, body: bytes, **attributes: str) -> dict:
    """An item whose `body` is bytes (compressed text), with string attributes."""
    return {**item(key, **attributes), "body": {"B": body}}


def list_page(
    pk: str, limit: int, after_sort_key: str | None, max_bytes: int
) -> tuple[list[str], str | None, str | None]:
    """One page of a list's records' JSON, in sort-key order: at most
    `limit` records and `max_bytes` of JSON; the sort key to go on from (None
    on the last page); and, on the last page, when the list last changed
    (its marker sorts after every record). One Query, unless DynamoDB's own
    1 MB page ends first."""
    found: list[str] = []
    size = 0
    last_sort_key = after_sort_key
    extra: dict[str, Any] = {"Limit": limit + 1}
    if after_sort_key is not None:
        extra["ExclusiveStartKey"] = _key((pk, after_sort_key))
    while True:
        response = _query_list(pk, **extra)
        for stored in response.get("Items", []):
            if stored["sk"]["S"] == LIST_MARKER:
                return found, None, stored["modified"]["S"]
            text = stored["json"]["S"]
            if len(found) == limit or size + len(text) > max_bytes:
                return found, last_sort_key, None
            found.append(text)
            size += len(text) + 1
            last_sort_key = stored["sk"]["S"]
        if "LastEvaluatedKey" not in response:
            return found, None, None
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
