"""site.toml: the collections and markdown settings of .eleventy.js."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.content.eleventy.problems import ContentInvalid
from chalicelib.content.eleventy.site_config import (
    Collection,
    MarkdownOptions,
    SiteConfig,
    load_site_config,
    parse_site_config,
    sort_collection,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eleventy-site" / "site.toml"


def test_absent_file_gives_the_defaults():
    config = load_site_config({"index.md": b"---\ntitle: Home\n---\n"})
    assert config == SiteConfig()
    assert config.markdown == MarkdownOptions(html=True, breaks=True, linkify=False, anchors=True)
    assert config.data_deep_merge is True
    assert config.collections == ()


def test_the_fixture_site_declares_its_four_collections():
    config = parse_site_config(FIXTURE.read_bytes())
    assert [(c.name, c.tag, c.sort) for c in config.collections] == [
        ("mainNav", "nav", "order"),
        ("footerNav", "footer", "order"),
        ("primaryNav", "primary", "order"),
        ("teamMembers", "team", "order"),
    ]
    assert config.collection("teamMembers") == Collection("teamMembers", "team", "order")
    assert config.collection("missing") is None
    assert config.data_deep_merge is False


def test_config_is_frozen():
    config = parse_site_config(b"")
    with pytest.raises(AttributeError):
        config.data_deep_merge = False  # type: ignore[misc]


def test_sort_defaults_to_order_and_markdown_keys_override_defaults():
    config = parse_site_config('[collections.team]\ntag = "team"\n[markdown]\nlinkify = true\n')
    assert config.collections == (Collection("team", "team", "order"),)
    assert config.markdown == MarkdownOptions(linkify=True)


def problems(text: str) -> list:
    with pytest.raises(ContentInvalid) as raised:
        parse_site_config(text)
    return raised.value.errors


def test_unknown_top_level_key_names_file_key_and_line():
    [problem] = problems("data_deep_merge = true\nlayouts = 1\n")
    assert (problem.file, problem.field, problem.line) == ("site.toml", "layouts", 2)
    assert str(problem).startswith("site.toml:2: layouts: ")


def test_unknown_collection_and_markdown_keys():
    found = problems('[collections.nav]\ntag = "nav"\nreverse = true\n\n[markdown]\ntypographer = true\n')
    assert [(p.field, p.line) for p in found] == [("collections.nav.reverse", 3), ("markdown.typographer", 6)]


def test_wrong_types_are_errors_with_lines():
    found = problems(
        'data_deep_merge = "yes"\n[markdown]\nhtml = 1\n[collections.nav]\ntag = 3\n[collections.footer]\nsort = "order"\n'
    )
    assert [(p.field, p.line) for p in found] == [
        ("collections.nav.tag", 5),
        ("collections.footer.tag", None),
        ("markdown.html", 3),
        ("data_deep_merge", 1),
    ]
    assert "is required" in found[1].message
    assert "true or false" in found[0 + 2].message


def test_reserved_and_badly_named_collections():
    found = problems('[collections.all]\ntag = "x"\n[collections."two words"]\ntag = "y"\n')
    assert [p.field for p in found] == ["collections.all", "collections.two words"]


def test_invalid_toml_gives_the_line():
    [problem] = problems("[markdown]\nhtml = tru\n")
    assert problem.line == 2
    assert problem.message.startswith("is not valid TOML")


def test_not_utf8():
    with pytest.raises(ContentInvalid) as raised:
        parse_site_config(b"[markdown]\n\xff = 1\n")
    assert raised.value.errors[0].line == 2


def test_sort_is_stable_on_ties_and_puts_missing_values_last():
    pages = [
        {"url": "/a/", "order": 2},
        {"url": "/b/"},
        {"url": "/c/", "order": 1},
        {"url": "/d/", "order": 2},
        {"url": "/e/", "order": 1.5},
    ]
    ordered = sort_collection(pages, "order", lambda page: page)
    assert [page["url"] for page in ordered] == ["/c/", "/e/", "/a/", "/d/", "/b/"]
    assert sort_collection(pages, None, lambda page: page) == pages
