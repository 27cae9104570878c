"""Publishing at size: the bucket indexer's time and peak memory for a
generated site of 1,000, 5,000 and 10,000 pages (first index, unchanged
re-index, one page changed), and, at 1,000 pages, publishing against
Eleventy 0.11's full build of the same site, interleaved.

The emulator (moto's server) runs in its own process, so each measured
process's peak memory (ru_maxrss) is the publish's alone; each step runs in
a fresh process, as a Lambda invocation would. Time spent waiting on AWS
calls (any call in flight, calls in parallel counted once) is measured
apart, so "own" time is the publish without the emulator's.

`python -m benchmarks.publish_size [--small] [COUNT ...]` (`--small`: pages of
one sentence); `make bench` runs the default.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.search_index import page_texts

COUNTS = (1000, 5000, 10000)
COMPARED = 1000  # pages in the side-by-side with Eleventy
RUNS = 5  # of each, interleaved
# About one page in eleven says "collections" in its prose, as a real site's might.
PROSE_MENTION = 11
ROOT = Path(__file__).resolve().parent.parent
ELEVENTY = ROOT / "tests" / "eleventy" / "node_modules" / "@11ty" / "eleventy" / "cmd.js"


def generate(folder: Path, count: int, small: bool = False) -> None:
    """`count` pages of about 400 words (`small`: one sentence), tagged, one
    in PROSE_MENTION saying "collections", and one menu listing a collection."""
    (folder / "pages").mkdir(parents=True, exist_ok=True)
    texts = ((f"Small page {n}", f"A small page, number {n}, word{n}.") for n in range(count))
    for n, (title, text) in enumerate(texts if small else page_texts(count)):
        tags = "[nav]" if n % 50 == 0 else "[library]"
        if n % PROSE_MENTION == 0:
            text += " Our collections of reports grow each year."
        (folder / "pages" / f"page-{n:05d}.md").write_text(
            f"---\ntitle: {title}\norder: {n}\ntags: {tags}\n---\n\n{text}\n"
        )
    (folder / "pages" / "menu.md").write_text(
        "---\ntitle: Menu\n---\n\n{% for item in collections.nav %}- {{ item.data.title }}\n{% endfor %}\n"
    )


def change_one(folder: Path, round_: int) -> None:
    """Change a word of a page that says "collections"."""
    page = folder / "pages" / f"page-{PROSE_MENTION * 3:05d}.md"
    page.write_text(page.read_text().rstrip("\n").rsplit("\nRevision ", 1)[0] + f"\nRevision {round_}.\n")


# Steps, each in its own process -------------------------------------------------------


class _Busy:
    """Wall time during which any AWS call was in flight."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []
        self.calls: dict[str, int] = {}

    def __enter__(self) -> _Busy:
        import threading

        from botocore.client import BaseClient

        self._original = BaseClient._make_api_call
        lock, busy = threading.Lock(), self

        def timed(client, operation, params):  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            try:
                return busy._original(client, operation, params)
            finally:
                with lock:
                    busy.spans.append((began, time.perf_counter()))
                    busy.calls[operation] = busy.calls.get(operation, 0) + 1

        BaseClient._make_api_call = timed
        return self

    def __exit__(self, *exc: object) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original

    def seconds(self) -> float:
        total, end = 0.0, float("-inf")
        for began, ended in sorted(self.spans):
            if ended > end:
                total += ended - max(began, end)
                end = ended
        return total


def step(kind: str, folder: str) -> dict:
    """One publish in this process: `index` (the bucket indexer, full) or
    `publish` (nlc-api publish of a folder)."""
    import contextlib
    import io

    from benchmarks.emulator import start_on
    from chalicelib.content.publishing import publish

    start_on(os.environ["NLC_BENCH_EMULATOR"])
    with _Busy() as busy, contextlib.redirect_stdout(io.StringIO()):
        began = time.perf_counter()
        if kind == "index":
            summary = publish.publish_scheduled(report=lambda line: None)
        else:
            summary = publish.publish_directory(Path(folder), report=lambda line: None)
        seconds = time.perf_counter() - began
    assert summary is not None
    return {
        "seconds": seconds,
        "aws": busy.seconds(),
        "calls": busy.calls,
        "item_writes": summary.item_writes,
        "updated": len(summary.updated) + len(summary.created),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_process(kind: str, folder: Path, emulator: str) -> dict:
    environment = {**os.environ, "NLC_BENCH_EMULATOR": emulator}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.publish_size", "--step", kind, str(folder)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{kind} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _eleventy(folder: Path) -> float:
    with tempfile.TemporaryDirectory() as output:
        began = time.perf_counter()
        subprocess.run(
            ["node", str(ELEVENTY), "--input=.", f"--output={output}", "--quiet"],
            cwd=folder,
            env={**os.environ, "TZ": "UTC"},
            capture_output=True,
            check=True,
        )
        return time.perf_counter() - began


# The emulator, in its own process -------------------------------------------------------


def _emulator() -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server, endpoint
        time.sleep(0.1)
    raise RuntimeError("the emulator did not start")


def _fresh(emulator: str) -> None:
    """An empty table and bucket."""
    from benchmarks.emulator import start_on
    from chalicelib import aws
    from chalicelib.settings import get_settings
    from nlc_tools.resources import CONTENT_TABLE

    start_on(emulator)
    settings = get_settings()
    aws.dynamodb().delete_table(TableName=settings.content_table)
    aws.dynamodb().create_table(**CONTENT_TABLE.create_table_kwargs(settings.content_table))
    versions = aws.s3().list_object_versions(Bucket=settings.content_bucket)
    for entry in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
        aws.s3().delete_object(Bucket=settings.content_bucket, Key=entry["Key"], VersionId=entry["VersionId"])


def _upload(folder: Path, emulator: str) -> None:
    """The site's files into the bucket, as a push would put them, unindexed."""
    from benchmarks.emulator import start_on
    from chalicelib.content.publishing import bucket
    from chalicelib.content.publishing.plan import load_directory

    start_on(emulator)
    sources = load_directory(folder)
    bucket.upload(sources, sorted(sources))


def _line(step: dict) -> str:
    own = step["seconds"] - step["aws"]
    writes = sum(n for op, n in step["calls"].items() if op in ("BatchWriteItem", "PutObject"))
    return (
        f"{step['seconds']:.1f} s ({own:.1f} s own, {step['aws']:.1f} s in AWS calls), "
        f"{step['peak_mb']:.0f} MB peak, {step['item_writes']:,} item writes in {writes:,} batch calls"
    )


def run(counts: tuple[int, ...] = COUNTS, small: bool = False) -> list[tuple[str, str]]:
    server, emulator = _emulator()
    rows: list[tuple[str, str]] = []
    try:
        from benchmarks.emulator import start_on

        start_on(emulator, provision_stage=True)
        for count in counts:
            _fresh(emulator)
            with tempfile.TemporaryDirectory() as name:
                folder = Path(name)
                generate(folder, count, small)
                _upload(folder, emulator)
                first = _in_process("index", folder, emulator)
                again = _in_process("index", folder, emulator)
                change_one(folder, 0)
                _upload(folder, emulator)
                changed = _in_process("index", folder, emulator)
                pages = f"{count:,} {'small ' if small else ''}pages"
                rows.append((f"bucket indexer, {pages}, first", _line(first)))
                rows.append((f"bucket indexer, {pages}, unchanged", _line(again)))
                rows.append((f"bucket indexer, {pages}, one page changed", _line(changed)))
                if not small and count == COMPARED and ELEVENTY.is_file() and shutil.which("node"):
                    rows += _side_by_side(folder, emulator)
    finally:
        server.terminate()
        server.wait()
    return rows


def _side_by_side(folder: Path, emulator: str) -> list[tuple[str, str]]:
    """nlc-api publish (unchanged; one page changed) against Eleventy's full
    build, interleaved: Eleventy, unchanged, Eleventy, changed, ..."""
    eleventy, unchanged, changed = [], [], []
    for round_ in range(RUNS):
        eleventy.append(_eleventy(folder))
        unchanged.append(_in_process("publish", folder, emulator))
        eleventy.append(_eleventy(folder))
        change_one(folder, round_ + 1)
        changed.append(_in_process("publish", folder, emulator))
    base = statistics.median(eleventy)
    rows = [(f"Eleventy 0.11 full build, {COMPARED:,} pages", f"median {base:.2f} s of {len(eleventy)}")]
    for name, steps in (("unchanged republish", unchanged), ("one page changed", changed)):
        own = statistics.median(step["seconds"] - step["aws"] for step in steps)
        whole = statistics.median(step["seconds"] for step in steps)
        rows.append(
            (
                f"nlc-api publish, {COMPARED:,} pages, {name}",
                f"median {own:.2f} s own ({own / base:.2f}x Eleventy), {whole:.2f} s with the "
                f"emulator ({whole / base:.2f}x); {statistics.median(s['updated'] for s in steps)} "
                f"page(s) rewritten, {statistics.median(s['item_writes'] for s in steps)} item writes",
            )
        )
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--step"]:
        print(json.dumps(step(sys.argv[2], sys.argv[3])))
    else:
        small = "--small" in sys.argv
        counts = tuple(int(count) for count in sys.argv[1:] if count != "--small")
        for measure, figure in run(counts or COUNTS, small):
            print(f"{measure}: {figure}", flush=True)
