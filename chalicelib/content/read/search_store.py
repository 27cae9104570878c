"""Reading the sharded search index (search.py) from the content table, and
keeping what was read for the next query in a warm process.

Every call reads the header, so no answer comes from a replaced index;
shards are cached by digest, which names what they hold. A shard's two
slots are read together, and the one holding the digest the header names is
used. Cold, a query costs two BatchGetItems (header and its words' shards;
header and its hits' texts); warm, one (the header, with any texts not yet
cached). A shard the header names but neither slot holds was replaced by a
publish after this header was read: the next read's header is the new one,
and the query starts over from it, so an answer comes from one release only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...tables import content_table
from . import search

# Reads before giving up: a query needs two; each publish racing it may cost one more.
MAX_READS = 6
# Parsed shards kept between queries, oldest dropped first: postings parse to
# Python ints, several MB a term shard at 50,000 pages, and the API
# function has 512 MB.
MAX_CACHED_SHARDS = 48
SLOTS = (0, 1)


class IndexBusy(Exception):
    """Publishes kept replacing the index while a query read it."""


@dataclass
class _Cache:
    release: str | None = None
    header: dict | None = None
    modified: str | None = None
    shards: dict[str, Any] | None = None  # parsed shards by digest


_cache = _Cache()


def cached_shards() -> int:
    return len(_cache.shards or {})


def forget() -> None:
    """Drop what this process read of the index, as a new process starts."""
    global _cache
    _cache = _Cache()


def find(query: str, limit: int) -> tuple[list[dict], str | None]:
    """The results for `query` and when the index last changed (None before
    the first publish)."""
    wanted = search.query_terms(query)
    shards = _cache.shards if _cache.shards is not None else {}
    for _ in range(MAX_READS):
        answer, missing = _resolve(_cache.header, shards, wanted, limit)
        if _cache.header is None:
            missing = sorted({search.term_shard(term) for term in wanted})
        keys = [content_table.SEARCH_HEADER, *_slots(missing)]
        if len(keys) == 1:
            row = content_table.get(content_table.SEARCH_HEADER)
            fetched = {content_table.SEARCH_HEADER: row} if row else {}
        else:
            fetched = content_table.get_many(keys)
        row = fetched.pop(content_table.SEARCH_HEADER, None)
        if row is None:
            return [], None
        for shard in fetched.values():
            shards.setdefault(shard.get("digest", ""), search.load(shard["body"]))
        if row.get("fingerprint") != _cache.release:
            _remember(row, shards)
            shards = _cache.shards or {}
            answer = None
        _cache.shards = shards
        if answer is None:
            answer, _ = _resolve(_cache.header, shards, wanted, limit)
        if answer is not None:
            for digest in list(shards)[: max(0, len(shards) - MAX_CACHED_SHARDS)]:
                del shards[digest]
            return answer, _cache.modified
    raise IndexBusy("the search index kept changing while it was read")


def _resolve(
    header: dict | None, shards: dict[str, Any], wanted: list[str], limit: int
) -> tuple[list[dict] | None, list[str]]:
    """The answer from `header` and the cached shards, or None and the
    shards still to read."""
    if header is None:
        return None, []
    needed = search.term_shards(header, wanted)
    missing = [name for name, digest in needed.items() if digest not in shards]
    if missing:
        return None, missing
    ranked = search.rank(header, shards, wanted, limit)
    texts = search.text_shards(header, [number for number, _ in ranked])
    missing = [name for name, digest in texts.items() if digest not in shards]
    if missing:
        return None, missing
    return search.results(header, ranked, shards, wanted), []


def _slots(names: list[str]) -> list[content_table.Key]:
    return [content_table.search_shard_key(name, slot) for name in names for slot in SLOTS]


def _remember(row: content_table.Row, shards: dict[str, Any]) -> None:
    """A new header: keep only the shards it names."""
    header = search.load(row["body"])
    if "texts" not in header:  # an index of the single-record kind: publish again to replace it
        header = {"documents": 0, "average_length": 0, "terms": [None] * search.TERM_SHARDS, "texts": []}
    named = {digest for digest in header["terms"] if digest} | {digest for _, digest in header["texts"]}
    _cache.release = row.get("fingerprint")
    _cache.header = header
    _cache.modified = row.get("modified")
    _cache.shards = {digest: shard for digest, shard in shards.items() if digest in named}
