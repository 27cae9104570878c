"""Full-text search of the public pages and posts: an index built at publish
time and stored in shards, so a search reads only the shards its words are in.

Postings are split by term into TERM_SHARDS shards (a hash of the stemmed
term picks the shard); the documents' paths, titles and text (for snippets)
are split into document shards of about DOCUMENT_SHARD_TEXT characters each.
A small header names each shard by the digest of what it holds, so a shard
that did not change keeps its name (and a reader's cached copy) from one
publish to the next. No shard's size depends on the site's: a site outgrows
them only past what a shard holds, and publishing refuses that before any
write (see shard_problems).

Ranking is BM25F: each word's frequency in the title counts TITLE_WEIGHT
times its frequency in the body, and documents are compared by that weighted
length. Words are English Snowball stems ("leaders" finds "leader"), common
words left out. Pure: no AWS, no HTTP.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import html
import itertools
import json
import math
import re
import zlib
from collections import Counter
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
# Fixed, so a reader knows which shards a word is in before it reads the
# header: 128 shards hold about 50,000 pages' postings each under 200 KB.
TERM_SHARDS = 128
# Characters of documents' text per document shard: compressed, about 70 KB.
DOCUMENT_SHARD_TEXT = 200_000

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


@dataclass(frozen=True)
class Shard:
    name: str  # "t<n>" for a term shard, "d<n>" for a document shard
    body: bytes  # zlib-compressed JSON
    digest: str  # of the body: a shard's name in the header and in caches


@dataclass(frozen=True)
class Built:
    """An index: the header (JSON-able) and every shard it names."""

    header: dict
    shards: list[Shard]

    @property
    def release(self) -> str:
        return str(self.header["release"])


def term_shard(term: str) -> str:
    return f"t{zlib.crc32(term.encode()) % TERM_SHARDS}"


def _compress(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def _shard(name: str, value: Any) -> Shard:
    body = _compress(value)
    return Shard(name, body, hashlib.sha256(body).hexdigest()[:16])


def build(documents: list[Document]) -> Built:
    """The index of `documents`, numbered in the order given.

    Header: the document count, their average weighted length, each term
    shard's digest (None for an empty one) and each document shard's first
    document number and digest. A term shard maps each term to its
    postings: flat (document number gap, weighted count, document length)
    triples. A document shard lists [path, title, kind, text].
    """
    postings: dict[str, list[int]] = {}
    lengths = []
    for number, doc in enumerate(documents):
        weighted = Counter(terms(doc.text))
        for term in terms(doc.title):
            weighted[term] += TITLE_WEIGHT
        length = sum(weighted.values())
        lengths.append(length)
        for term, count in weighted.items():
            postings.setdefault(term, []).extend((number, count, length))
    by_shard: dict[str, dict[str, list[int]]] = {}
    for term in sorted(postings):
        triples = postings[term]
        # Gaps between document numbers, not the numbers: small, and alike, so they compress.
        numbers = triples[::3]
        triples[3::3] = [later - earlier for earlier, later in itertools.pairwise(numbers)]
        by_shard.setdefault(term_shard(term), {})[term] = triples
    shards = [_shard(name, by_shard[name]) for name in sorted(by_shard)]
    digests = {shard.name: shard.digest for shard in shards}
    starts: list[int] = []
    size = DOCUMENT_SHARD_TEXT
    for number, doc in enumerate(documents):
        if size + len(doc.text) > DOCUMENT_SHARD_TEXT:
            starts.append(number)
            size = 0
        size += len(doc.text) + len(doc.title) + len(doc.path)
    document_shards = [
        _shard(f"d{place}", [[doc.path, doc.title, doc.kind, doc.text] for doc in documents[first:end]])
        for place, (first, end) in enumerate(itertools.pairwise([*starts, len(documents)]))
    ]
    header: dict[str, Any] = {
        "documents": len(documents),
        "average_length": sum(lengths) / len(lengths) if lengths else 0,
        "terms": [digests.get(f"t{number}") for number in range(TERM_SHARDS)],
        "texts": [[first, shard.digest] for first, shard in zip(starts, document_shards, strict=True)],
    }
    header["release"] = hashlib.sha256(json.dumps(header, sort_keys=True).encode()).hexdigest()[:16]
    return Built(header, shards + document_shards)


def shard_problems(built: Built, max_bytes: int) -> list[str]:
    """Each shard too large for one record, in words (none by design below
    about 50,000 pages; a single page's text can still pass it)."""
    problems = []
    for shard in built.shards:
        if len(shard.body) > max_bytes:
            what = "postings of the words" if shard.name.startswith("t") else "text of the pages"
            problems.append(
                f"the search index's shard {shard.name} ({what} it holds) would be "
                f"{len(shard.body):,} bytes compressed; a record holds at most {max_bytes:,}"
            )
    return problems


# Searching -----------------------------------------------------------------------


def load(body: bytes) -> Any:
    """A stored header or shard, parsed."""
    return json.loads(zlib.decompress(body))


def query_terms(query: str) -> list[str]:
    return list(dict.fromkeys(terms(query)))[:MAX_QUERY_TERMS]


def term_shards(header: dict, wanted: list[str]) -> dict[str, str]:
    """The digests of the (non-empty) term shards holding `wanted`, by name."""
    names = {term_shard(term) for term in wanted}
    return {name: digest for name in sorted(names) if (digest := header["terms"][int(name[1:])])}


def rank(header: dict, shards: dict[str, dict], wanted: list[str], limit: int) -> list[tuple[int, float]]:
    """The best `limit` document numbers for the terms, best first, with
    their scores; `shards` holds the parsed term shards by digest."""
    count, average = header["documents"], header["average_length"] or 1
    located = term_shards(header, wanted)
    scores: dict[int, float] = {}
    for term in wanted:
        digest = located.get(term_shard(term))
        postings = shards[digest].get(term, []) if digest else []
        frequency = len(postings) // 3
        idf = math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))
        numbers = itertools.accumulate(postings[::3])
        for number, weighted, length in zip(numbers, postings[1::3], postings[2::3], strict=True):
            saturation = weighted + K1 * (1 - B + B * length / average)
            scores[number] = scores.get(number, 0.0) + idf * weighted * (K1 + 1) / saturation
    return sorted(scores.items(), key=lambda scored: (-scored[1], scored[0]))[:limit]


def text_shards(header: dict, numbers: list[int]) -> dict[str, str]:
    """The digests of the document shards holding `numbers`, by name."""
    firsts = [first for first, _ in header["texts"]]
    places = {_place(firsts, number) for number in numbers}
    return {f"d{place}": header["texts"][place][1] for place in sorted(places)}


def _place(firsts: list[int], number: int) -> int:
    return bisect.bisect_right(firsts, number) - 1


def results(
    header: dict, ranked: list[tuple[int, float]], shards: dict[str, list], wanted: list[str]
) -> list[dict]:
    """The answer's results: `shards` holds the parsed document shards by digest."""
    firsts = [first for first, _ in header["texts"]]
    found = []
    for number, score in ranked:
        place = _place(firsts, number)
        path, title, kind, text = shards[header["texts"][place][1]][number - firsts[place]]
        found.append(
            {
                "path": path,
                "title": title,
                "kind": kind,
                "snippet": snippet(text, set(wanted)),
                "score": round(score, 4),
            }
        )
    return found


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
