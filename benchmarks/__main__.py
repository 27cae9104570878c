"""Run the benchmarks and print their figures as a Markdown table:
`make bench`, or `python -m benchmarks NAME ...` for some of them."""

from __future__ import annotations

import importlib
import sys

BENCHMARKS = [
    "content_reads",
    "cold_start",
    "publish_scaling",
    "publish_size",
    "submissions",
    "search_index",
    "content_checks",
]


def main(names: list[str]) -> None:
    print("| measure | figure |\n| --- | --- |")
    for name in names or BENCHMARKS:
        for measure, figure in importlib.import_module(f"benchmarks.{name}").run():
            print(f"| {measure} | {figure} |", flush=True)


main(sys.argv[1:])
