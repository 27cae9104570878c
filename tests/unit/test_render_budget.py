"""Files written to cost the publish as much as they can: each is refused
within 2 s on this machine, naming its file and line, its peak memory under
256 MB above the publish's baseline. Each is measured in a process of its
own, so one payload's memory never counts against another's."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chalicelib.settings import PROJECT_DIR

SECONDS = 2.0
MEGABYTES = 256

# Runs in a fresh process: prepares the set given on stdin (name -> text),
# and prints the time, the peak memory above the baseline, and the problems.
MEASURE = """
import json, resource, sys, time
from chalicelib.content import publishing
sources = {name: text.encode("utf-8", "surrogatepass") for name, text in json.load(sys.stdin).items()}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.perf_counter()
try:
    publishing.prepare(sources, lambda line: None)
    problems = []
except publishing.PublishError as error:
    problems = error.problems
seconds = time.perf_counter() - began
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"seconds": seconds, "megabytes": peak / 1024, "problems": problems}))
"""


def cost(files: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE],
        input=json.dumps(files),
        capture_output=True,
        text=True,
        cwd=PROJECT_DIR,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


def page(body: str, front: str = "") -> str:
    return f"---\ntitle: T\n{front}---\n{body}"


def refused_in_budget(name: str, text: str, expected: str, extra: dict[str, str] | None = None) -> dict:
    measured = cost({name: text, **(extra or {})})
    assert [problem for problem in measured["problems"] if problem.startswith(expected)], measured
    assert measured["seconds"] < SECONDS, measured
    assert measured["megabytes"] < MEGABYTES, measured
    return measured


# Markdown ----------------------------------------------------------------------------


MARKDOWN = {
    "images": ("![" * 100_000, "bomb.md:4: markdown error"),
    "brackets": ("[" * 100_000, "bomb.md:4: markdown error"),
    "table": (
        "|" + "a|" * 95 + "\n|" + "-|" * 95 + "\n" + ("|" + "a|" * 95 + "\n") * 5_000,
        "bomb.md:",
    ),
}


@pytest.mark.parametrize("payload", MARKDOWN)
def test_markdown_written_to_cost_is_refused_in_budget(payload):
    body, expected = MARKDOWN[payload]
    refused_in_budget("bomb.md", page(body), expected)


def test_repeated_headings_get_their_ids_in_linear_time():
    measured = cost({"headings.md": page("# a\n" * 10_000)})
    assert measured["problems"] == []
    assert measured["seconds"] < SECONDS, measured


# Redirects ---------------------------------------------------------------------------

CHAINED = "".join(f"/r{number} /r{number + 1}\n" for number in range(10_000))  # 140 KB


def prefixed(count: int) -> str:
    rules = [f"/p{number}/* /p{number + 1}/:splat\n" for number in range(count)]
    return "".join(rules + [f"/x{number} /p0/x{number}\n" for number in range(count)])


def test_a_long_chain_of_redirects_is_planned_in_linear_time():
    measured = cost({"index.md": page("Home"), "_redirects": CHAINED})
    assert measured["problems"] == []
    assert measured["seconds"] < SECONDS, measured


@pytest.mark.parametrize("count", [1_000, 2_000])
def test_prefix_rules_chained_into_each_other_are_refused_in_budget(count):
    refused_in_budget("_redirects", prefixed(count), "_redirects: line ", {"index.md": page("Home")})
