"""Search: the index's size and build time against page count, and a
search's latency (cold and warm) and AWS calls through the HTTP API.

Generated pages draw ~400 words each from a 6,000-word vocabulary with a
Zipf-like spread, as prose does, so the index compresses as a real site's
would rather than as repeated text does.
"""

from __future__ import annotations

import contextlib
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.emulator import CallCounter, start
from chalicelib.content.eleventy.limits import MAX_RECORD_BYTES
from chalicelib.content.read import search

COUNTS = (100, 1000, 10000)
WORDS_PER_PAGE = 400
VOCABULARY = 6000
LATENCY_PAGES = 1000
WARM_RUNS = 30


def vocabulary() -> list[str]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choice(letters) for _ in range(rng.randint(3, 11))) for _ in range(VOCABULARY * 2)}
    return sorted(words)[:VOCABULARY]


def page_texts(count: int) -> list[tuple[str, str]]:
    rng = random.Random(count)
    words = vocabulary()
    weights = [1 / (rank + 1) for rank in range(len(words))]
    pages = []
    for n in range(count):
        title = " ".join(rng.choices(words, weights, k=4)).capitalize()
        body = rng.choices(words, weights, k=WORDS_PER_PAGE)
        sentences = [" ".join(body[i : i + 16]).capitalize() + "." for i in range(0, len(body), 16)]
        pages.append((f"{title} {n}", " ".join(sentences)))
    return pages


def index_rows() -> list[tuple[str, str]]:
    rows = []
    for count in COUNTS:
        documents = [
            search.Document(f"/page-{n}/", title, "page", text)
            for n, (title, text) in enumerate(page_texts(count))
        ]
        began = time.perf_counter()
        built = search.build(documents, MAX_RECORD_BYTES)
        seconds = time.perf_counter() - began
        uncapped = len(search.build(documents, 10**10).body)
        kept = (
            "all text" if built.text_limit is None else f"snippet text cut to {built.text_limit} characters"
        )
        rows.append(
            (
                f"search index, {count:,} pages",
                f"{len(built.body) / 1024:.0f} KB stored ({uncapped / 1024:.0f} KB with all text), "
                f"{built.documents:,} of {count:,} pages indexed, {kept}; built in {seconds:.2f} s",
            )
        )
    return rows


def latency_rows() -> list[tuple[str, str]]:
    from chalice.test import Client

    from app import app
    from chalicelib.settings import PROJECT_DIR

    with tempfile.TemporaryDirectory() as folder:
        for n, (title, text) in enumerate(page_texts(LATENCY_PAGES)):
            (Path(folder) / f"page-{n:04d}.md").write_text(f"---\ntitle: {title}\n---\n\n{text}\n")
        with contextlib.redirect_stdout(io.StringIO()):
            start(Path(folder))
    query = "/search?q=" + "%20".join(vocabulary()[100:102])
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        client.http.get("/health")  # the AWS client and the app, made
        for name in [name for name in sys.modules if name.startswith("snowballstemmer")]:
            del sys.modules[name]
        search._stemmer.cache_clear()
        search.load.cache_clear()
        with CallCounter() as counter, contextlib.redirect_stdout(io.StringIO()):
            began = time.perf_counter()
            status = client.http.get(query).status_code
            cold = time.perf_counter() - began
        warm = []
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(WARM_RUNS):
                began = time.perf_counter()
                client.http.get(query)
                warm.append(time.perf_counter() - began)
    get_item = counter.seconds.get("GetItem", 0.0)
    return [
        (
            f"GET /search, {LATENCY_PAGES:,} pages, first in a process",
            f"{status}: {cold * 1000:.0f} ms ({get_item * 1000:.0f} ms of it the GetItem), "
            f"{len(counter.calls)} AWS call(s): {', '.join(counter.calls)}",
        ),
        (
            f"GET /search, {LATENCY_PAGES:,} pages, warm",
            f"median {statistics.median(warm) * 1000:.0f} ms of {WARM_RUNS}",
        ),
    ]


def run() -> list[tuple[str, str]]:
    return index_rows() + latency_rows()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
