"""Search: the sharded index's sizes and build time against page count,
and a search's latency (cold and warm) and AWS calls through the HTTP API
beside a content GET on the same stack, at 1,000 and 10,000 pages.

Generated pages draw ~400 words each from a 6,000-word vocabulary with a
Zipf-like spread, as prose does, so the index compresses as a real site's
would rather than as repeated text does.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import statistics
import time

from benchmarks.emulator import CallCounter, start
from chalicelib.content.read import search

COUNTS = (1000, 10000, 50000)
WORDS_PER_PAGE = 400
VOCABULARY = 6000
LATENCY_PAGES = (1000, 10000)
WARM_RUNS = 30
COLD_RUNS = 7


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


def documents(count: int) -> list[search.Document]:
    return [
        search.Document(f"/page-{n}/", title, "page", text)
        for n, (title, text) in enumerate(page_texts(count))
    ]


def index_rows() -> list[tuple[str, str]]:
    rows = []
    for count in COUNTS:
        given = documents(count)
        began = time.perf_counter()
        built = search.build(given)
        seconds = time.perf_counter() - began
        terms = sorted(len(shard.body) for shard in built.shards if shard.name.startswith("t"))
        texts = sorted(len(shard.body) for shard in built.shards if shard.name.startswith("d"))
        header = len(json.dumps(built.header))
        rows.append(
            (
                f"search index, {count:,} pages",
                f"built in {seconds:.1f} s; header {header / 1024:.1f} KB; {len(terms)} term shards "
                f"(largest {terms[-1] / 1024:.0f} KB, median {statistics.median(terms) / 1024:.0f} KB), "
                f"{len(texts)} text shards (largest {texts[-1] / 1024:.0f} KB); "
                f"{sum(terms + texts) / 1024 / 1024:.1f} MB in all",
            )
        )
    return rows


def _store(built: search.Built) -> None:
    """The index's items, written as a publish writes them."""
    from chalicelib.content.publishing import derived
    from chalicelib.tables import content_table

    puts, switch, _ = derived.index_items(built, None, "2026-01-01T00:00:00Z", "benchmark")
    content_table.write_batch(puts, [])
    content_table.write_batch(switch, [])


def latency_rows() -> list[tuple[str, str]]:
    from chalice.test import Client

    from app import app
    from chalicelib.content.read import search_store
    from chalicelib.settings import PROJECT_DIR

    start(PROJECT_DIR / "content")
    words = vocabulary()
    rows = []
    for count in LATENCY_PAGES:
        _store(search.build(documents(count)))
        query = f"/search?q={words[100]}%20{words[2000]}"
        with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
            client.http.get("/health")  # the AWS client and the app, made
            cold, calls = [], []
            with contextlib.redirect_stdout(io.StringIO()):
                for _ in range(COLD_RUNS):
                    search_store.forget()  # as a new process finds it
                    with CallCounter() as counter:
                        began = time.perf_counter()
                        status = client.http.get(query).status_code
                        cold.append(time.perf_counter() - began)
                    calls.append(len(counter.calls))
                warm, content = [], []
                with CallCounter() as counter:
                    client.http.get(query)
                warm_calls = len(counter.calls)
                for _ in range(WARM_RUNS):  # interleaved with a content GET
                    began = time.perf_counter()
                    client.http.get(query)
                    warm.append(time.perf_counter() - began)
                    began = time.perf_counter()
                    client.http.get("/content?path=/what-we-do/")
                    content.append(time.perf_counter() - began)
        ratio = statistics.median(warm) / statistics.median(content)
        rows += [
            (
                f"GET /search, {count:,} pages, cold (nothing cached)",
                f"{status}: median {statistics.median(cold) * 1000:.0f} ms of {COLD_RUNS}, "
                f"at most {max(calls)} AWS calls",
            ),
            (
                f"GET /search, {count:,} pages, warm",
                f"median {statistics.median(warm) * 1000:.1f} ms of {WARM_RUNS}, {warm_calls} AWS call; "
                f"{ratio:.2f}x a warm content GET (median {statistics.median(content) * 1000:.1f} ms)",
            ),
        ]
    return rows


def run() -> list[tuple[str, str]]:
    return index_rows() + latency_rows()


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
