"""Files written to cost the publish as much as they can: each is refused
within 2 s on this machine, naming its file and line, its peak memory under
256 MB above the publish's baseline. Each is measured in a process of its
own, so one payload's memory never counts against another's, and by the
CPU time it takes, so other work on the machine does not count either."""

from __future__ import annotations

import json
import re
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
from chalicelib.content.publishing import plan as publishing
sources = {name: text.encode("utf-8", "surrogatepass") for name, text in json.load(sys.stdin).items()}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = time.process_time()
try:
    publishing.prepare(sources, lambda line: None)
    problems = []
except publishing.PublishError as error:
    problems = error.problems
seconds = time.process_time() - began
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
    """`expected` is a pattern the start of a problem matches."""
    measured = cost({name: text, **(extra or {})})
    assert [problem for problem in measured["problems"] if re.match(expected, problem)], measured
    assert measured["seconds"] < SECONDS, measured
    assert measured["megabytes"] < MEGABYTES, measured
    return measured


# Markdown ----------------------------------------------------------------------------


MARKDOWN = {
    "images": ("![" * 100_000, r"bomb\.md:4: markdown error"),
    "brackets": ("[" * 100_000, r"bomb\.md:4: markdown error"),
    "table": (
        "|" + "a|" * 95 + "\n|" + "-|" * 95 + "\n" + ("|" + "a|" * 95 + "\n") * 5_000,
        r"bomb\.md:\d+: markdown error",
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
    refused_in_budget("_redirects", prefixed(count), r"_redirects:\d+: ", {"index.md": page("Home")})


# Nunjucks: time ----------------------------------------------------------------------

DOUBLING_MACRO = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
NUNJUCKS = {
    "macro-20": DOUBLING_MACRO + "\n{{ f(20) }}",
    "macro-30": DOUBLING_MACRO + "\n{{ f(30) }}",
    "recursive-loop": "\n{% for x in range(1000) recursive %}{% if loop.depth < 3 %}{{ loop(range(1000)) }}"
    "{% endif %}{% endfor %}",
    # Never printed: Python refuses to print an integer of more than 4,300 digits.
    "integer-squaring": "\n{% set n = 10 ** 1000 %}{% for i in range(14) %}{% set n = n * n %}{% endfor %}"
    "{{ n > 0 }}",
    "multiplying-in-a-loop": "\n{% for i in range(99000) %}{% set s = 'x' * 4999999 %}{% endfor %}",
    "to-bytes-in-a-loop": "\n{% for i in range(99000) %}{% set b = (1).to_bytes(4000000, 'big') %}{% endfor %}",
    # Nunjucks: memory
    "replace": "\n{% set s = 'x' * 40000 %}{{ s | replace('x', s) | length }}",
    "join": "\n{{ (['a'] * 40000) | join('x' * 40000) | length }}",
    "percent-format": "\n{{ '%999999999s' % 'x' }}",
    "to-bytes": "\n{{ (1).to_bytes(900000000, 'big') | length }}",
    "list-of-a-long-string": "\n{{ ['x' * 1000000] * 1200 }}",
    "power": "\n{% set p = (10 ** 1000) ** 1000 %}{{ p > 0 }}",
    "center": "\n{{ 'x' | center(999999999) }}",
}


@pytest.mark.parametrize("payload", NUNJUCKS)
def test_nunjucks_written_to_cost_is_refused_in_budget(payload):
    refused_in_budget("bomb.njk", page(NUNJUCKS[payload]), r"bomb\.njk:[45]: template error: ")


# Liquid ------------------------------------------------------------------------------

DOUBLED = "{% assign s = 'xxxxxxxxxx' %}" + "{% assign s = s | append: s %}" * 12
LIQUID = {
    "for-offset": ("\n{% for i in (1..1000000000) offset: 999999999 %}{{ i }}{% endfor %}", "", 5),
    "tablerow-offset": (
        "\n{% tablerow i in (1..1000000000) offset: 999999999 %}{{ i }}{% endtablerow %}",
        "",
        5,
    ),
    "permalink-offset": (
        "",
        'permalink: "{% for i in (1..1000000000) offset: 999999999 %}{{ i }}{% endfor %}/"\n',
        3,
    ),
    "times-squaring": (
        "\n{% assign n = 10 %}" + "{% assign n = n | times: n %}" * 40 + "{% if n > 0 %}big{% endif %}",
        "",
        5,
    ),
    "join-separator": ("\n" + DOUBLED + "{% assign a = (1..10000) %}{{ a | join: s | size }}", "", 5),
}


@pytest.mark.parametrize("payload", LIQUID)
def test_liquid_written_to_cost_is_refused_in_budget(payload):
    body, front, line = LIQUID[payload]
    refused_in_budget("bomb.md", page(body, front), rf"bomb\.md:{line}: template error: ")


# The whole publish ---------------------------------------------------------------------

BIG_DATA = json.dumps({"items": [{"name": f"item {n}", "text": "x" * 80, "n": n} for n in range(7_400)]})


def test_large_global_data_costs_each_page_nothing_it_does_not_use():
    assert 900_000 < len(BIG_DATA) < 1_000_000
    measured = cost({"_data/big.json": BIG_DATA, **{f"p{number}.md": "hi" for number in range(300)}})
    assert measured["problems"] == []
    assert measured["seconds"] < SECONDS, measured
    assert measured["megabytes"] < MEGABYTES, measured


def test_pages_that_each_use_large_global_data_are_refused_by_the_publishs_budget():
    pages = {f"p{number:03}.njk": "{{ big.items | length }}" for number in range(300)}
    refused_in_budget("_data/big.json", BIG_DATA, r"p\d+\.njk: pages use more than", pages)
