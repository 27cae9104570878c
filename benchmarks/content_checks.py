"""What the content checks add to a 1,000-page `nlc-api publish --dry-run`
(the content checked alone: no AWS call): the same pages with every rule
off, at the defaults, and with every rule on. Each figure is the CPU time
of the fastest of its runs, which alternate: on a shared machine, wall
time measures the neighbours more than the checks."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.publish_scaling import generate
from chalicelib.content.eleventy.checks import RULES
from chalicelib.content.publishing import publish

PAGES = 1000
RUNS = 5
# The generated pages link to /files/report-N.pdf, which a site serves as static files.
SERVED = 'served = ["/files/*"]\n'
SETTINGS = {
    "every rule off": "".join(f'{rule} = "off"\n' for rule in RULES),
    "the defaults": "",
    "every rule on": "".join(f'{rule} = "warning"\n' for rule in RULES),
}


def _dry_run(folder: Path) -> float:
    began = time.process_time()
    publish.publish_directory(folder, dry_run=True, compare=False, report=lambda _line: None)
    return time.process_time() - began


def measure(pages: int = PAGES, runs: int = RUNS) -> dict[str, float]:
    """The fastest dry run of each setting, in CPU seconds."""
    times: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        generate(root, pages)
        for _ in range(runs):
            for name, rules in SETTINGS.items():
                (root / "site.toml").write_text(f"[checks]\n{SERVED}{rules}")
                times[name].append(_dry_run(root))
    return {name: min(seconds) for name, seconds in times.items()}


def run() -> list[tuple[str, str]]:
    fastest = measure()
    off = fastest["every rule off"]
    rows = [(f"publish --dry-run of {PAGES} pages, checks off", f"{off:.2f} s of CPU")]
    for name in ("the defaults", "every rule on"):
        added = fastest[name] / off - 1
        rows.append((f"... checks at {name}", f"{fastest[name]:.2f} s ({added:+.0%})"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}", flush=True)
