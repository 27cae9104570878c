"""Nunjucks as Eleventy 0.11 renders it (each expectation here was checked
against Eleventy's output; see tests/api/test_eleventy_differential.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.content.eleventy.nunjucks import TemplateProblem, render_nunjucks


def render(source: str, **context) -> str:
    return render_nunjucks(source, context, name="page.njk")


def test_autoescape_uses_nunjucks_escapes_and_safe_turns_it_off():
    assert (
        render("{{ x }}", x="<a href=\"/\">'&'</a>\\")
        == "&lt;a href=&quot;/&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;&#92;"
    )
    assert render("{{ x | safe }}", x="<b>&</b>") == "<b>&</b>"


@given(st.text())
def test_escaping_matches_nunjucks_lib_escape(text):
    expected = "".join(
        {"&": "&amp;", '"': "&quot;", "'": "&#39;", "<": "&lt;", ">": "&gt;", "\\": "&#92;"}.get(c, c)
        for c in text
    )
    assert render("{{ x }}", x=text) == expected


def test_undefined_and_null_print_nothing():
    assert render("[{{ a }}][{{ a.b.c }}][{{ n }}][{{ n | safe }}]", n=None) == "[][][][]"


def test_values_print_as_javascript_does():
    assert render(
        "{{ t }} {{ f }} {{ xs }} {{ whole }} {{ half }} {{ obj }}",
        t=True,
        f=False,
        xs=[1, 2.5, None, "a"],
        whole=3.0,
        half=2.5,
        obj={"a": 1},
    ) == ("true false 1,2.5,,a 3 2.5 [object Object]")


def test_length_property_and_object_keys_not_python_methods():
    assert (
        render(
            "{{ xs.length }} {{ s.length }} {{ d.items }} {{ d.keys }}", xs=[1, 2], s="abc", d={"keys": "k"}
        )
        == "2 3  k"
    )


def test_dump_is_json_stringify_and_escaped_unless_safe():
    data = {"a": [1, 2.0, None], "b": 'x"<'}
    assert render("{{ d | dump | safe }}", d=data) == '{"a":[1,2,null],"b":"x\\"<"}'
    assert render("{{ d | dump }}", d={"a": True}) == "{&quot;a&quot;:true}"
    assert render("{{ d | dump(2) | safe }}", d={"a": 1}) == '{\n  "a": 1\n}'
    assert render("[{{ missing | dump }}]") == "[]"


def test_set_inside_a_loop_assigns_the_outer_variable():
    source = (
        "{% set count = 0 %}{% for x in xs %}{% set count = count + 1 %}{% set inner = x %}{% endfor %}"
        "{{ count }}[{{ inner }}][{{ x }}]"
    )
    assert render(source, xs=["a", "b", "c"]) == "3[][]"


def test_set_in_if_and_block_set_and_context_shadowing():
    source = "{% if true %}{% set a = 'in if' %}{% endif %}{{ a }} {% set title %}<{{ title }}>{% endset %}{{ title }}"
    assert render(source, title="T") == "in if &lt;T&gt;"


def test_loop_variables():
    source = "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.length }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %};{% endfor %}"
    assert render(source, xs="ab" and ["a", "b"]) == "1022F;2112L;"


def test_loop_over_objects_undefined_and_else():
    assert render("{% for k, v in d %}{{ k }}={{ v }};{% endfor %}", d={"a": 1, "b": None}) == "a=1;b=;"
    assert (
        render("{% for x in missing %}x{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}")
        == "|empty"
    )


def test_loop_variable_shadows_an_outer_set_only_inside_the_loop():
    assert render("{% set x = 'outer' %}{% for x in ['a'] %}{{ x }}{% endfor %}{{ x }}") == "aouter"


def test_comments_whitespace_control_and_trailing_newline():
    assert render("{# gone #}a\n{%- set b = 1 -%}\n  c\n") == "ac\n"


def test_default_replaces_undefined_only():
    assert (
        render("{{ a | default('x') }}|{{ n | default('x') }}|{{ n | default('x', true) }}", n=None) == "x||x"
    )


def test_common_filters():
    source = "{{ 'Ab' | upper }}{{ 'Ab' | lower }} {{ xs | join('-') }} {{ xs | first }}{{ xs | last }} {{ 'a b' | replace('a', 'c') }} {{ xs | length }} {{ missing | length }}"
    assert render(source, xs=[1, 2, 3]) == "ABab 1-2-3 13 c b 3 0"


def test_macros_return_safe_markup():
    assert render("{% macro b(x) %}<b>{{ x }}</b>{% endmacro %}{{ b('<i>') }}") == "<b>&lt;i&gt;</b>"


def test_team_page_pattern():
    members = [
        {"data": {"name": "Alice"}, "templateContent": "<p>Alice &amp; co</p>\n"},
        {"data": {"name": "Bola"}, "templateContent": "<p>Bola</p>\n"},
    ]
    source = "{% set teamMembers = collections.teamMembers %}{% for member in teamMembers %}<h2>{{ member.data.name }}</h2>{{ member.templateContent | safe }}{% endfor %}"
    assert (
        render(source, collections={"teamMembers": members})
        == "<h2>Alice</h2><p>Alice &amp; co</p>\n<h2>Bola</h2><p>Bola</p>\n"
    )


def test_unknown_filter_is_an_error_with_its_line():
    with pytest.raises(TemplateProblem) as raised:
        render("a\nb\n{{ x | nosuchfilter }}\n")
    assert raised.value.line == 3
    assert "nosuchfilter" in raised.value.message
    assert raised.value.message.startswith("page.njk: ")


def test_unknown_tag_is_an_error_with_its_line():
    with pytest.raises(TemplateProblem) as raised:
        render("a\n{% nosuchtag %}\n")
    assert raised.value.line == 2


def test_includes_cannot_read_files():
    with pytest.raises(TemplateProblem):
        render("{% include '/etc/passwd' %}")


def test_runtime_errors_carry_the_line():
    with pytest.raises(TemplateProblem) as raised:
        render("ok\n{{ 1 // 0 }}")
    assert raised.value.line == 2


def test_sandbox_blocks_python_internals():
    assert render("[{{ x.__class__.__mro__ }}][{{ ''.__class__ }}]", x=object()) == "[][]"
    assert render("[{{ x.__init__.__globals__ }}]", x=object()) == "[]"


def test_loop_iterations_are_bounded():
    with pytest.raises(TemplateProblem) as raised:
        render_nunjucks(
            "{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}",
            {},
            name="p",
            max_iterations=10_000,
        )
    assert "iterations" in raised.value.message


def test_doubling_a_string_stops_at_the_size_limit():
    source = (
        "{% set s = 'xxxxxxxxxx' %}{% for i in range(40) %}{% set s = s ~ s %}{% endfor %}{{ s | length }}"
    )
    with pytest.raises(TemplateProblem) as raised:
        render_nunjucks(source, {}, name="p", max_output_chars=100_000)
    assert "longer than" in raised.value.message
    with pytest.raises(TemplateProblem):
        render("{{ 'x' * 100000000 }}")
    with pytest.raises(TemplateProblem):
        render("{{ 2 ** 100000 }}")


def test_output_size_is_bounded():
    with pytest.raises(TemplateProblem) as raised:
        render_nunjucks("{% for i in range(100) %}0123456789{% endfor %}", {}, name="p", max_output_chars=500)
    assert "output is longer" in raised.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ range }}",
        "{{ cycler }}",
        "{{ joiner }}",
        "{% set c = cycler(1, 2) %}{{ c }}",
        "{{ range ~ '' }}",
        "{{ [range] }}",
        "{{ range | string }}",
        "{% macro m() %}x{% endmacro %}{{ m }}",
    ],
)
def test_no_function_or_object_of_the_engine_prints(source):
    assert render(source) == ""


@pytest.mark.parametrize(
    "source",
    [
        "{{ _nj_set }}",
        "{{ _nj_set('title', 'x') }}{{ title }}",
        "{{ _nj_iter([1, 2], false) }}",
        "{% set _nj_get = 1 %}",
        "{% for _nj_x in [1] %}{% endfor %}",
    ],
)
def test_the_engines_own_helpers_cannot_be_named(source):
    with pytest.raises(TemplateProblem, match="reserved"):
        render(source, title="T")
