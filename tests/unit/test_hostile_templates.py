"""Templates written to cost as much as they can, made up by hypothesis:
nested loops, recursive macros, strings and numbers that grow, filters with
large arguments. Each is either rendered or refused (a ContentInvalid naming
the file), within the render budget: never another exception, never more
than 2 s of CPU, never 256 MB more memory."""

from __future__ import annotations

import json
import os
import resource
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.content.eleventy.engines import Engines
from chalicelib.content.eleventy.problems import ContentInvalid
from chalicelib.content.eleventy.site_config import MarkdownOptions

pytestmark = pytest.mark.property

SECONDS = 2.0
MEGABYTES = 256

numbers = st.one_of(
    st.integers(-3, 12),
    st.sampled_from([1_000, 99_000, 4_999_999, 999_999_999, 10**100]),
)
texts = st.sampled_from(["''", "'x'", "'ab'", "'x' * 1000", "'<b>'"])


def nunjucks_values(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, n: f"({a} * {n})", inner, numbers),
        st.builds(lambda a, b: f"({a} ~ {b})", inner, inner),
        st.builds(lambda a, n: f"({a} ** {n})", inner, numbers),
        st.builds(lambda a, b: f"([{a}] * 1000) | join({b})", inner, inner),
        st.builds(lambda a, b, c: f"{a} | replace({b}, {c})", inner, inner, inner),
        st.builds(lambda a, n: f"{a} | center({n})", inner, numbers),
        st.builds(lambda a, n: f"{a} | indent({n})", inner, numbers),
        st.builds(lambda a, n: f"{a} | batch({n}) | list", inner, numbers),
        st.builds(lambda n, a: f"'%{n}s' % {a}", numbers, inner),
        st.builds(lambda n: f"(1).to_bytes({n}, 'big')", numbers),
        st.builds(lambda n: f"range({n}) | list", numbers),
    )


nunjucks_expressions = st.recursive(
    st.one_of(numbers.map(str), texts, st.just("v")), nunjucks_values, max_leaves=6
)


def nunjucks_statements(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda n, body: f"{{% for i in range({n}) %}}{body}{{% endfor %}}", numbers, inner),
        st.builds(lambda e, body: f"{{% set v = {e} %}}{body}", nunjucks_expressions, inner),
        st.builds(lambda a, b: a + b, inner, inner),
        st.builds(
            lambda body, n: (
                "{% macro m(n) %}{% if n > 0 %}" + body + "{{ m(n - 1) }}{{ m(n - 1) }}"
                f"{{% endif %}}{{% endmacro %}}{{{{ m({n}) }}}}"
            ),
            inner,
            numbers,
        ),
        st.builds(
            lambda n, body: (
                f"{{% for x in range({n}) recursive %}}{body}"
                "{% if loop.depth < 4 %}{{ loop(range(" + str(n) + ")) }}{% endif %}{% endfor %}"
            ),
            numbers,
            inner,
        ),
    )


nunjucks_templates = st.recursive(
    nunjucks_expressions.map(lambda e: f"{{{{ {e} }}}}"), nunjucks_statements, max_leaves=5
)


def liquid_statements(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(
            lambda n, o, body: f"{{% for i in (1..{n}) offset: {o} %}}{body}{{% endfor %}}",
            numbers,
            numbers,
            inner,
        ),
        st.builds(lambda n, body: f"{{% tablerow i in (1..{n}) %}}{body}{{% endtablerow %}}", numbers, inner),
        st.builds(lambda n, body: f"{{% assign v = v | times: {n} %}}{body}", numbers, inner),
        st.builds(lambda body: "{% assign s = s | append: s %}" + body, inner),
        st.builds(lambda n, body: f"{{% assign a = (1..{n}) %}}{{{{ a | join: s }}}}{body}", numbers, inner),
        st.builds(lambda body: "{% assign s = s | replace: 'x', s %}" + body, inner),
        st.builds(lambda a, b: a + b, inner, inner),
    )


liquid_templates = st.recursive(
    st.sampled_from(["{{ v }}", "{{ s | size }}", "x"]), liquid_statements, max_leaves=6
).map(lambda body: "{% assign v = 10 %}{% assign s = 'xxxxxxxxxx' %}" + body)


ENGINES = Engines(MarkdownOptions())


def rendered_or_refused(chain: tuple[str, ...], template: str) -> None:
    """Render in a forked child, so its peak memory is its own whatever the
    process held before, and its CPU time is not another test's."""
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        outcome = "rendered"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.process_time()
        try:
            ENGINES.render("page.njk", chain, template, 1, {})
        except ContentInvalid as refused:
            outcome = "refused" if refused.errors[0].file == "page.njk" else repr(refused.errors)
        except BaseException as error:
            outcome = repr(error)
        report = {
            "outcome": outcome,
            "seconds": time.process_time() - began,
            "megabytes": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
        }
        os.write(writing, json.dumps(report).encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(child, 0)
    assert report["outcome"] in ("rendered", "refused"), (report, template)
    assert report["seconds"] < SECONDS, (report, template)
    assert report["megabytes"] < MEGABYTES, (report, template)


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(nunjucks_templates)
def test_a_hostile_nunjucks_template_is_rendered_or_refused_within_the_budget(template):
    rendered_or_refused(("njk",), template)


@PROPERTY
@given(liquid_templates)
def test_a_hostile_liquid_template_is_rendered_or_refused_within_the_budget(template):
    rendered_or_refused(("liquid", "md"), template)
