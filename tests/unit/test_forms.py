"""A form post's check (forms.check) takes and refuses what the pydantic
models built from the same declarations take and refuse, stores what they
store, and words each problem as it would be worded from their errors, in
the same order: over posts generated field by field, with the values that
tell the steps apart (blanks, hidden and white-space characters at the
edges, lengths either side of each limit, lone surrogates, non-text)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.submissions import fields, forms
from chalicelib.submissions.errors import FormInvalid


def by_the_models(kind: str, data: Any) -> tuple[str, Any]:
    try:
        model = fields.MODELS[kind].model_validate(data)
    except ValidationError as error:
        declared = {field.posted_as: field for field in forms.FORMS[kind]}
        problems: dict[str, str] = {}
        for problem in error.errors():
            name = str(problem["loc"][0]) if problem["loc"] else "form"
            field = declared.get(name)
            wording = field.wording if field else None
            limit = problem.get("ctx", {}).get("max_length")
            problems.setdefault(name, forms.message(wording, problem["type"], problem.get("input"), limit))
        return "refused", list(problems.items())
    return "taken", model.model_dump(mode="json")


def by_the_check(kind: str, data: Any) -> tuple[str, Any]:
    try:
        entered = forms.check(kind, data)
    except FormInvalid as invalid:
        return "refused", list(invalid.fields.items())
    return "taken", entered.values


def test_the_models_are_built_from_the_declarations():
    for kind, declared in forms.FORMS.items():
        model = fields.MODELS[kind]
        assert list(model.model_fields) == [field.name for field in declared]
        assert [info.alias or name for name, info in model.model_fields.items()] == [
            field.posted_as for field in declared
        ]
        assert [info.is_required() for info in model.model_fields.values()] == [
            field.needed for field in declared
        ]


EDGES = " \t\r\n\x0b\x0c\x1c\x85\xa0\u2003\u3000\u200b\u200d\u00ad\u202e\ufeff"
TEXT = "Ada Lovelace\r\n é\u0301x" + EDGES


def around(limit: int) -> st.SearchStrategy[str]:
    """Text of about `limit` characters, with white space or hidden
    characters at its edges or inside."""
    return st.builds(
        lambda size, before, after, inner: before + "x" * size + inner + after,
        st.integers(limit - 2, limit + 1),
        st.text(EDGES, max_size=2),
        st.text(EDGES, max_size=2),
        st.text(EDGES + "\n", max_size=1),
    )


def values(field: forms.Field) -> st.SearchStrategy[Any]:
    common = [
        st.none(),
        st.text(TEXT, max_size=12),
        st.sampled_from(
            ["", "   ", "\u200b", "\u00ad", "x\u00ad", "\x1c", "\ud800", "ada@example.com", "  Ada  "]
        ),
        st.integers(),
        st.booleans(),
        st.lists(st.text("ab", max_size=2), max_size=2),
        st.just({"nested": "x"}),
    ]
    if field.limit:
        common.append(around(field.limit))
    if field.kind == forms.EMAIL:
        common.append(
            st.sampled_from(["ada@example.com ", "\u00adada@example.com", "ADA@Bücher.de", "ada@", "a@b"])
        )
    if field.kind == forms.FORMAT:
        formats = [str(member) for member in forms.Format]
        common.append(st.sampled_from([*formats, " braille", "Braille", "braille\n", "other\u00ad"]))
    return st.one_of(common)


# A value each field takes, so that generated posts are often taken whole.
TAKEN = {
    forms.LINE: "Ada",
    forms.TEXT: "Hello",
    forms.EMAIL: "ada@example.com",
    forms.FORMAT: "other",
    forms.HONEYPOT: "",
}


def posts(kind: str) -> st.SearchStrategy[Any]:
    # Each field absent, given a value it takes, or given anything; in the
    # form's order; then perhaps a few fields the form does not have.
    chosen = st.tuples(
        *[
            st.one_of(
                st.none(),
                st.just((field.posted_as, TAKEN[field.kind])),
                st.just((field.posted_as, TAKEN[field.kind])),
                st.tuples(st.just(field.posted_as), values(field)),
            )
            for field in forms.FORMS[kind]
        ]
    )
    unknown = st.sampled_from(["phone", "bot_field", "Email", "format "])
    extra = st.dictionaries(unknown, st.text("ab", max_size=2), max_size=2)
    dicts = st.builds(lambda items, more: {**dict(item for item in items if item), **more}, chosen, extra)
    return st.one_of(dicts, st.just([]), st.just("text"))


@pytest.mark.parametrize("kind", forms.FORMS)
@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_post_is_checked_as_the_models_validate_it(kind, data):
    post = data.draw(posts(kind))
    assert by_the_check(kind, post) == by_the_models(kind, post)


@pytest.mark.parametrize("kind", forms.FORMS)
def test_a_full_post_is_taken_and_stored_as_the_models_store_it(kind):
    post = {
        forms.ENQUIRY: {
            "name": " Ada\u00ad ",
            "email": "Ada@Example.com",
            "message": "One\r\nTwo\x0c",
            "website": "",
        },
        forms.ACCESSIBLE_FORMAT_REQUEST: {
            "email": "ada@example.com",
            "document_url": "/what-we-do/",
            "format": "other",
            "other_format": "Moon type",
            "bot-field": "x",
        },
    }[kind]
    outcome, stored = by_the_check(kind, post)
    assert (outcome, stored) == by_the_models(kind, post)
    assert outcome == "taken"
    entered = forms.check(kind, post)
    assert entered.is_spam == (kind == forms.ACCESSIBLE_FORMAT_REQUEST)
    assert entered.fields() == {
        name: value for name, value in stored.items() if value is not None and name not in forms.HONEYPOTS
    }
