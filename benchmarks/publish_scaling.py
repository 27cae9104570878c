"""Publish time and AWS calls against page count, against the emulator on
loopback: a first publish of N generated pages, a republish of the same,
unchanged, and a publish with one page in ten changed."""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path

from benchmarks.emulator import CallCounter, start
from chalicelib import aws
from chalicelib.content.publishing import publish
from chalicelib.settings import get_settings

COUNTS = (100, 250, 500, 1000)
WRITES = {"BatchWriteItem", "PutItem", "DeleteItem", "PutObject", "DeleteObject"}

BODY = """
<div class="content-block">
  <div class="container">

## Section {n}

Words about leadership, collaboration and public services, page {n}.
1. A [link](/page-{m}/) to another page
2. A [report](/files/report-{d}.pdf) (PDF, 120KB, 8 pages)

  </div>
</div>

{para}
"""


def generate(folder: Path, count: int) -> None:
    paragraph = " ".join(["Public service leaders work together on hard problems."] * 30)
    for n in range(count):
        tags = "[nav]" if n % 10 == 0 else "[library]"
        text = f"---\ntitle: Page {n}\norder: {n}\ntags: {tags}\nmetadesc: Page {n} of the library\n---\n"
        text += BODY.format(n=n, m=(n + 1) % count, d=n % 50, para=paragraph)
        (folder / f"page-{n:04d}.md").write_text(text)


def _clear_table() -> None:
    settings = get_settings()
    dynamodb = aws.dynamodb()
    dynamodb.delete_table(TableName=settings.content_table)
    from nlc_tools.resources import CONTENT_TABLE

    dynamodb.create_table(**CONTENT_TABLE.create_table_kwargs(settings.content_table))


def _calls(counter: CallCounter) -> str:
    counts: dict[str, int] = {}
    for call in counter.calls:
        counts[call] = counts.get(call, 0) + 1
    return f"{len(counter.calls)} calls (" + ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) + ")"


def _timed(folder: Path) -> tuple[float, CallCounter, publish.Summary]:
    with CallCounter() as counter, contextlib.redirect_stdout(io.StringIO()):
        began = time.perf_counter()
        summary = publish.publish_directory(folder)
        return time.perf_counter() - began, counter, summary


def run() -> list[tuple[str, str]]:
    start()
    rows = []
    for count in COUNTS:
        _clear_table()
        with tempfile.TemporaryDirectory() as folder:
            generate(Path(folder), count)
            first_seconds, first, summary = _timed(Path(folder))
            again_seconds, again, _ = _timed(Path(folder))
            for n in range(0, count, 10):
                page = Path(folder) / f"page-{n:04d}.md"
                page.write_text(page.read_text() + "\nA new paragraph.\n")
            changed_seconds, changed, _ = _timed(Path(folder))
        writes_again = sum(call in WRITES for call in again.calls)
        rows.append(
            (
                f"publish {count} pages",
                f"first {first_seconds:.2f} s, {summary.item_writes} items, {_calls(first)}; "
                f"unchanged {again_seconds:.2f} s, {writes_again} writes, {_calls(again)}; "
                f"1 in 10 changed {changed_seconds:.2f} s, {_calls(changed)}",
            )
        )
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
