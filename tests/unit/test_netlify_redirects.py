"""Netlify redirects resolved to the one-hop redirects the API serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.content.eleventy.netlify_redirects import (
    PrefixRedirect,
    parse_netlify_toml,
    parse_redirects_file,
    plan_redirects,
    resolve_site_redirects,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "eleventy-site"
PUBLISHED = ["/", "/what-we-do/", "/our-programme/", "/who-we-are/", "/posts/a/", "/pages/contact/"]


def plan(redirects: str = "", toml: str = "", published=PUBLISHED):
    sources = {}
    if redirects:
        sources["_redirects"] = redirects.encode()
    if toml:
        sources["netlify.toml"] = toml.encode()
    return resolve_site_redirects(sources, published)


def test_the_fixture_sites_chain_resolves_to_one_hop():
    sources = {name: (FIXTURE / name).read_bytes() for name in ("netlify.toml", "_redirects")}
    result = resolve_site_redirects(sources, PUBLISHED)
    assert result.redirects["/what-we-do/our-programme/"] == ("/our-programme/", 301)
    assert result.redirects["/programme/"] == ("/our-programme/", 301)
    assert result.redirects["/about/"] == ("/who-we-are/", 301)
    assert result.redirects["/contact-us/"] == ("/pages/contact.html", 302)
    assert result.prefixes == [PrefixRedirect("/blog/", "/posts/", 301, True, result.prefixes[0].rule)]
    assert result.errors == []
    assert any("status 200" in warning for warning in result.warnings)
    assert any("full URL" in warning for warning in result.warnings)
    assert any("does not publish /pages/contact.html" in warning for warning in result.warnings)


def test_redirects_file_syntax():
    rules, warnings, errors = parse_redirects_file(
        "# comment\n\n/a /b\n/c   /d   302!\n/e /f 308\n/g\n/h /i abc\n/j /k 301 Country=gb\n"
    )
    assert [(r.from_path, r.to, r.status, r.force, r.where) for r in rules] == [
        ("/a", "/b", 301, False, "line 3"),
        ("/c", "/d", 302, True, "line 4"),
        ("/e", "/f", 308, False, "line 5"),
        ("/j", "/k", 301, False, "line 8"),
    ]
    assert [error.split(":")[0] for error in errors] == ["_redirects line 6", "_redirects line 7"]
    assert warnings == ["_redirects line 8: ignored 'Country=gb' after the status"]


def test_netlify_toml_syntax_and_errors():
    rules, _warnings, errors = parse_netlify_toml(
        '[[redirects]]\nfrom = "/a"\nto = "/b"\n\n[[redirects]]\nfrom = "/c"\nstatus = 301\n'
    )
    assert [(r.from_path, r.to, r.status, r.force) for r in rules] == [("/a", "/b", 301, False)]
    assert errors == ["netlify.toml [[redirects]] #2 (line 5): needs from and to, each a path or URL"]
    assert parse_netlify_toml("[[redirects]\n")[2][0].startswith("netlify.toml: is not valid TOML")


def test_paths_are_normalised_like_the_api():
    result = plan("/what-we-do/index.html /who-we-are 301!\n/old /what-we-do/index.html\n")
    assert result.redirects == {"/what-we-do/": ("/who-we-are/", 301), "/old/": ("/who-we-are/", 301)}


def test_unforced_rule_for_a_published_page_is_shadowed():
    result = plan("/what-we-do /who-we-are\n")
    assert result.redirects == {}
    assert "publishes /what-we-do/" in result.warnings[0]


def test_a_loop_is_an_error_naming_the_rule():
    result = plan("/a /b\n/b /c\n/c /a\n")
    assert result.redirects == {}
    assert len(result.errors) == 3
    assert result.errors[0].startswith("_redirects line 3 (/c -> /a): redirect loop")


def test_a_redirect_to_itself_is_an_error():
    assert plan("/a /a/\n").errors[0].startswith("_redirects line 1 (/a -> /a/)")


def test_temporary_hop_makes_the_chain_temporary():
    result = plan("/a /b 301\n/b /who-we-are/ 302\n")
    assert result.redirects["/a/"] == ("/who-we-are/", 302)
    assert result.redirects["/b/"] == ("/who-we-are/", 302)


def test_first_rule_wins_and_redirects_file_comes_before_netlify_toml():
    result = plan("/a /who-we-are/\n", '[[redirects]]\nfrom = "/a"\nto = "/"\n')
    assert result.redirects == {"/a/": ("/who-we-are/", 301)}
    assert "already redirects /a/" in result.warnings[0]


def test_splat_prefixes_and_chains_through_them():
    result = plan("/blog/* /posts/:splat\n/news/* /\n/old-post /blog/a\n/x/:id /y\n/z /q/:splat\n")
    assert result.redirects == {"/old-post/": ("/posts/a/", 301)}
    blog, news = sorted(result.prefixes, key=lambda prefix: prefix.from_prefix)
    assert blog.target("/blog/2020/hello/") == "/posts/2020/hello/"
    assert news.target("/news/anything/") == "/"
    assert len([warning for warning in result.warnings if "placeholder" in warning]) == 2


def test_non_redirect_statuses_and_other_domains_are_skipped():
    result = plan("/a /b 200\n/c /d 404\nhttps://other.example/* /:splat 301!\n/e https://www.gov.uk/ 302\n")
    assert result.redirects == {"/e/": ("https://www.gov.uk/", 302)}
    assert len(result.warnings) == 3


def test_published_paths_are_normalised_too():
    result = plan_redirects(parse_redirects_file("/a /who-we-are\n")[0], ["/who-we-are/index.html"])
    assert result.redirects == {"/a/": ("/who-we-are/", 301)}
    assert result.warnings == []


@pytest.mark.parametrize(
    "target",
    [
        "https://example.com/\r\nSet-Cookie: a=b",
        "javascript://%0aalert(1)",
        "data://text/html,<script>alert(1)</script>",
        "//evil.example.com/",
        "https://",
        "http://exa mple.com/",
        "https://example.com/\u0001",
    ],
    ids=repr,
)
def test_a_target_that_is_not_a_path_or_an_http_url_is_refused_naming_the_rule(target):
    toml = f'[[redirects]]\nfrom = "/old/"\nto = {json.dumps(target)}\n'

    refused = plan(toml=toml)

    assert refused.redirects == {}
    assert len(refused.errors) == 1
    assert refused.errors[0].startswith("netlify.toml [[redirects]] #1 (line 1) (/old/ -> ")
    assert "to: must be a path or an http or https URL" in refused.errors[0]


@pytest.mark.parametrize("target", ["javascript://%0aalert(1)/:splat", "ftp://files.example.com/:splat"])
def test_a_prefix_rules_target_is_held_to_the_same(target):
    refused = plan(redirects=f"/old/* {target}\n")

    assert refused.prefixes == []
    assert refused.errors and "to: must be a path or an http or https URL" in refused.errors[0]


def test_http_and_https_urls_and_paths_are_targets():
    kept = plan(
        redirects="/a/ https://example.com/x#y\n/b/ http://example.com\n/c/ /who-we-are\n/d/* /posts/:splat\n"
    )

    assert kept.errors == []
    assert kept.redirects["/a/"] == ("https://example.com/x#y", 301)
    assert kept.redirects["/b/"] == ("http://example.com", 301)
    assert len(kept.prefixes) == 1
