"""An organisation's Eleventy site, copied unchanged into the content folder
with its site.toml, publishes as Eleventy builds it: every template
language, front matter as Eleventy takes it, the site's own redirect files,
its ignore rules and its custom collections. (The bodies themselves are
compared with Eleventy's in test_eleventy_differential.py.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import body

from nlc_tools.cli import CommandError

SITE = Path(__file__).resolve().parents[1] / "fixtures" / "eleventy-site"


@pytest.fixture
def site(publish, client) -> str:
    return publish(SITE)


def content(client, path: str):
    return client.http.get(f"/content?path={quote(path, safe='')}")


def paths(response) -> list[str]:
    return [item["path"] for item in body(response)["items"]]


def test_the_whole_repository_publishes_with_warnings_for_what_it_cannot_serve(site):
    assert "error" not in site
    assert "warning: sitemap.xml.njk: skipped: its permalink /sitemap.xml is not an HTML page" in site
    assert "api/*" in site and "is not a redirect the API serves" in site  # a Netlify rewrite
    assert "old-nlc.example.gov.uk" in site and "another domain" in site


def test_files_eleventy_ignores_are_not_content(site, client):
    listed = {page["input_path"] for page in body(client.http.get("/pages"))["pages"]}
    assert "README.md" not in listed  # .eleventyignore
    assert not any(name.startswith(("_includes/", "_data/")) or name == "package.json" for name in listed)


def test_a_team_member_with_a_name_and_no_title_is_a_page_in_its_collections(site, client):
    member = body(content(client, "/pages/who-we-are/team/alice-smith/"))
    assert "title" not in member  # never set: absent, not null
    assert member["name"] == "Alice Smith"
    assert member["input_path"] == "pages/who-we-are/team/alice-smith.md"
    assert "/pages/who-we-are/team/alice-smith/" in paths(client.http.get("/collections/team"))


def test_display_fields_are_served_as_text_a_template_prints(site, client):
    page = body(content(client, "/404.html"))
    assert page["navtitle"] == "404"


def test_a_page_kept_out_of_collections_is_served_and_in_pages_marked_unlisted(site, client):
    assert content(client, "/404.html").status_code == 200
    listed = {page["path"]: page["listed"] for page in body(client.http.get("/pages"))["pages"]}
    assert listed["/404.html"] is False and listed["/what-we-do/"] is True
    assert b"/404.html" not in client.http.get("/sitemap.xml").body  # nor in any other list


def test_a_nunjucks_page_lists_its_custom_collection_with_each_members_content(site, client):
    team = body(content(client, "/pages/who-we-are/team.md/"))
    assert team["input_path"] == "pages/who-we-are/team.md.njk"
    assert (
        team["html"].index("Alice Smith")
        < team["html"].index("Chen Wei")
        < team["html"].index("Bola Adeyemi")
    )
    assert "<p>Alice leads the Centre.<br>\nShe joined in 2019.</p>" in team["html"]


def test_custom_collections_are_served_by_name_in_their_declared_order(site, client):
    members = paths(client.http.get("/collections/teamMembers"))
    assert members == [
        "/pages/who-we-are/team/alice-smith/",
        "/pages/who-we-are/team/chen-wei/",  # order 2, the earlier date
        "/pages/who-we-are/team/bola-adeyemi/",
    ]
    # The tag's own collection: order, then title, then input path.
    assert paths(client.http.get("/collections/team")) == [
        "/pages/who-we-are/team/alice-smith/",
        "/pages/who-we-are/team/bola-adeyemi/",
        "/pages/who-we-are/team/chen-wei/",
    ]
    assert paths(client.http.get("/collections/mainNav"))[:2] == ["/", "/what-we-do/"]


@pytest.mark.parametrize(
    ("old", "new", "status"),
    [
        ("/what-we-do/our-programme", "/our-programme/", 301),  # a chain, in one hop
        ("/programme/", "/our-programme/", 301),
        ("/team", "/who-we-are/team/", 302),
        ("/about", "/who-we-are/", 301),  # from _redirects
        ("/blog/2019-12-10-launch/", "/posts/2019-12-10-launch/", 301),  # /blog/* -> /posts/:splat
    ],
)
def test_the_sites_netlify_redirects_answer_towards_their_final_page(site, client, old, new, status):
    response = content(client, old)
    assert response.status_code == status
    assert response.headers["Location"] == "content?path=" + quote(new, safe="")
    assert body(response) == {"path": new}


def test_a_redirect_loop_is_a_publish_error_naming_the_rule(publish, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(SITE, site, ignore=shutil.ignore_patterns("node_modules"))
    (site / "_redirects").write_text("/a /b 301\n/b /a 301\n", encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        publish(site)
    assert "_redirects:1: (/a -> /b): redirect loop" in raised.value.output


def test_a_custom_collection_hides_a_tag_of_its_name(publish, client, tmp_path):
    files = {
        "site.toml": '[collections.nav]\ntag = "menu"\nsort = "order"\n',
        "a.md": "---\ntitle: A\ntags: [nav]\n---\nA\n",
        "b.md": "---\ntitle: B\ntags: [menu]\norder: 1\n---\nB\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    publish(tmp_path)
    assert paths(client.http.get("/collections/nav")) == ["/b/"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("page.md", "---\ntitle: T\n---\n\n{{ title | shout }}\n", "page.md:5: template error"),
        ("page.njk", "---\ntitle: T\n---\n<p>\n{{ title | shout }}</p>\n", "page.njk:5: template error"),
        ("page.njk", "---\ntitle: T\n---\n{% shortcode 'x' %}\n", "page.njk:4: template error"),
    ],
)
def test_a_filter_or_tag_the_site_defines_in_javascript_is_an_error_naming_file_and_line(
    publish, tmp_path, name, text, expected
):
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(CommandError) as raised:
        publish(tmp_path)
    assert expected in raised.value.output


def test_a_javascript_data_file_is_skipped_with_a_warning(publish, client, tmp_path):
    (tmp_path / "_data").mkdir()
    (tmp_path / "_data" / "build.js").write_text("module.exports = {};\n", encoding="utf-8")
    (tmp_path / "_data" / "site.json").write_text(json.dumps({"name": "NLC"}), encoding="utf-8")
    (tmp_path / "index.njk").write_text("---\ntitle: Home\n---\n<h1>{{ site.name }}</h1>\n", encoding="utf-8")
    output = publish(tmp_path)
    assert "warning: _data/build.js: JavaScript data files cannot be read here; skipped" in output
    assert body(content(client, "/"))["html"] == "<h1>NLC</h1>\n"
