"""Full-text search of the public pages and posts: an index built at publish
time and stored as one compressed record, so a search is one GetItem.

Ranking is BM25F: each word's frequency in the title counts TITLE_WEIGHT
times its frequency in the body, and documents are compared by that weighted
length. Words are English Snowball stems ("leaders" finds "leader"), common
words left out. Pure: no AWS, no HTTP.
"""

from __future__ import annotations

import functools
import html
import itertools
import json
import math
import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

TITLE_WEIGHT = 3
K1 = 1.2
B = 0.75
SNIPPET_WORDS = 30
SNIPPET_HITS = 100  # matches a snippet looks among, from the start of the text
MAX_QUERY_LENGTH = 200
MAX_QUERY_TERMS = 12
# When the index would be too large for one record, each document keeps less
# of its text for snippets (ranking still sees every word), then, past that,
# the index keeps the first documents only.
TEXT_LIMITS = (None, 2000, 600, 200, 0)

_WORD = re.compile(r"\w+(?:['’]\w+)*")
STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "in",
    "into", "is", "it", "its", "of", "on", "or", "our", "that", "the", "their", "this", "to", "was",
    "we", "were", "will", "with",
))  # fmt: skip


@dataclass(frozen=True)
class Document:
    path: str
    title: str
    kind: str  # "page" or "post"
    text: str  # the body as plain text


@dataclass(frozen=True)
class Built:
    body: bytes  # zlib-compressed JSON
    documents: int  # how many it holds
    of: int  # how many were given
    text_limit: int | None  # characters of text kept per document for snippets; None: all


@functools.cache
def _stemmer() -> Any:
    # The English module alone: the package's __init__ would load all 34 languages.
    from snowballstemmer.english_stemmer import EnglishStemmer

    return EnglishStemmer()


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str | None:
    """A word's index term, or None for a common word."""
    word = word.casefold().replace("’", "'")
    if word in STOP_WORDS:
        return None
    return str(_stemmer().stemWord(word))


class _Text(HTMLParser):
    """A page's words as a reader sees them: inline markup joins its
    neighbours (`<a>Taskforce</a>.`), blocks are apart, scripts unread."""

    BLOCKS = frozenset((
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    ))  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(html_text: str) -> str:
    parser = _Text()
    parser.feed(html_text)
    parser.close()
    return " ".join("".join(parser.parts).split())


def terms(text: str) -> list[str]:
    return [term for word in _WORD.findall(text) if (term := stem(word))]


# Building ------------------------------------------------------------------------


def build(documents: list[Document], max_bytes: int) -> Built:
    """The index of `documents`, compressed to at most `max_bytes`."""
    counted = [(Counter(terms(doc.title)), Counter(terms(doc.text))) for doc in documents]
    # Without any text first: if even that is too large, no text limit helps.
    if len(_pack(documents, counted, 0)) <= max_bytes:
        for limit in TEXT_LIMITS:
            body = _pack(documents, counted, limit)
            if len(body) <= max_bytes:
                return Built(body, len(documents), len(documents), limit)
    # Too large even without text: keep as many documents as fit.
    body, kept = largest_fitting(
        lambda count: _pack(documents[:count], counted[:count], 0), len(documents), max_bytes
    )
    return Built(body, kept, len(documents), 0)


def largest_fitting(pack: Callable[[int], bytes], total: int, max_bytes: int) -> tuple[bytes, int]:
    """`pack(count)` for about the largest count up to `total` whose result
    fits in `max_bytes`: size grows about linearly with the count, so a guess
    from the full size, stepped down 5% at a time, costs a few packs, not a
    binary search's dozen."""
    body = pack(total)
    count = total
    while len(body) > max_bytes and count:
        count = min(int(count * max_bytes / len(body)), int(count * 0.95))
        body = pack(count)
    return body, count


def _pack(documents: list[Document], counted: list[tuple[Counter, Counter]], text_limit: int | None) -> bytes:
    postings: dict[str, list[int]] = {}
    lengths = []
    for number, (title, body) in enumerate(counted):
        weighted = Counter({term: TITLE_WEIGHT * count for term, count in title.items()}) + body
        lengths.append(sum(weighted.values()))
        for term, count in sorted(weighted.items()):
            postings.setdefault(term, []).extend((number, count))
    for numbered in postings.values():
        # Gaps between document numbers, not the numbers: small, and alike, so they compress.
        numbers = numbered[::2]
        numbered[2::2] = [later - earlier for earlier, later in itertools.pairwise(numbers)]
    index = {
        "average_length": sum(lengths) / len(lengths) if lengths else 0,
        "documents": [
            [doc.path, doc.title, doc.kind, length, _cut(doc.text, text_limit)]
            for doc, length in zip(documents, lengths, strict=True)
        ],
        "terms": postings,
    }
    return zlib.compress(json.dumps(index, ensure_ascii=False, separators=(",", ":")).encode())


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0]


# Searching -----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def load(body: bytes) -> dict:
    """The stored index, parsed once per warm process while it is current."""
    return dict(json.loads(zlib.decompress(body)))


def query_terms(query: str) -> list[str]:
    return list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]


def search(index: dict, query: str, limit: int) -> list[dict]:
    """The best `limit` documents for `query`, best first."""
    wanted = query_terms(query)
    documents = index["documents"]
    count, average = len(documents), index["average_length"] or 1
    scores: dict[int, float] = {}
    for term in wanted:
        postings = index["terms"].get(term, [])
        frequency = len(postings) // 2
        idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
        for number, weighted in zip(itertools.accumulate(postings[::2]), postings[1::2], strict=True):
            length = documents[number][3]
            saturation = weighted + K1 * (1 - B + B * length / average)
            scores[number] = scores.get(number, 0.0) + idf * weighted * (K1 + 1) / saturation
    ranked = sorted(scores.items(), key=lambda scored: (-scored[1], scored[0]))[:limit]
    results = []
    for number, score in ranked:
        path, title, kind, _, text = documents[number]
        results.append(
            {
                "path": path,
                "title": title,
                "kind": kind,
                "snippet": snippet(text, set(wanted)),
                "score": round(score, 4),
            }
        )
    return results


def snippet(text: str, wanted: set[str]) -> str:
    """About SNIPPET_WORDS words of `text` around its best run of matches,
    HTML-escaped, with each matching word in <mark>. The work is linear in
    the matches, and stops after the first SNIPPET_HITS: a page of one word
    repeated costs a search no more than any other page."""
    prefixes = {term[:2] for term in wanted}
    words: list[re.Match[str]] = []
    hits: list[int] = []
    stems: list[str | None] = []
    for word in _WORD.finditer(text):
        if len(hits) == SNIPPET_HITS and len(words) >= hits[-1] + SNIPPET_WORDS:
            words.append(word)  # one more, to know the snippet ends before the text does
            break
        if (
            len(hits) < SNIPPET_HITS
            and word.group()[:2].casefold() in prefixes
            and (term := stem(word.group())) in wanted
        ):
            hits.append(len(words))
            stems.append(term)
        words.append(word)
    if not words:
        return ""
    start = _best_window(hits, stems, max(0, len(words) - SNIPPET_WORDS)) if hits else 0
    end = min(len(words), start + SNIPPET_WORDS)
    marked = set(hits)
    parts = ["…" if start else ""]
    position = words[start].start()
    for number in range(start, end):
        word = words[number]
        parts.append(html.escape(text[position : word.start()]))
        escaped = html.escape(word.group())
        parts.append(f"<mark>{escaped}</mark>" if number in marked else escaped)
        position = word.end()
    if end < len(words):
        parts.append("…")
    return "".join(parts)


def _best_window(hits: list[int], stems: list[str | None], latest: int) -> int:
    """The first word of the window holding the most different query words,
    then the most matches, then the earliest: each window starts a little
    before a hit, and slides over the hits once."""
    best: tuple[int, int, int] = (-1, -1, 0)
    inside: Counter[str | None] = Counter()
    low = high = 0
    for hit in hits:
        first = min(max(0, hit - 3), latest)
        while high < len(hits) and hits[high] < first + SNIPPET_WORDS:
            inside[stems[high]] += 1
            high += 1
        while hits[low] < first:
            inside[stems[low]] -= 1
            if not inside[stems[low]]:
                del inside[stems[low]]
            low += 1
        best = max(best, (len(inside), high - low, -first))
    return -best[2]
