"""The API's rendering against Eleventy 0.11's own output for the fixture
site (tests/fixtures/eleventy-site). Needs Node.js and
`cd tests/eleventy && npm ci`; skips without them unless
NLC_DIFFERENTIAL_TESTS=required.

Eleventy behaviours this pins down (each surprising at least once):
- `team.md.njk` is a Nunjucks template only (no Markdown pass), and its
  default URL keeps the ".md": /pages/who-we-are/team.md/.
- A `.html` page goes through Liquid and is written to /pages/contact/.
- page.filePathStem starts with "/" ("/pages/contact"); page.inputPath is
  "./pages/..." relative to where Eleventy runs.
- `permalink: 404.html` (no leading slash) is /404.html.
- Deep merge is off in 0.11: a team member's own `tags` replace its
  directory data's, so it leaves the team collections.
- A member's templateContent is its rendered Markdown without its layout.
- Nunjucks autoescapes; a captured {% set %} block is escaped again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from chalicelib.content.eleventy.site_config import parse_site_config, sort_collection
from tests.eleventy import build as eleventy

pytestmark = pytest.mark.differential

SITE = eleventy.FIXTURE_SITE


@pytest.fixture(scope="module")
def built() -> dict[str, str]:
    if not eleventy.eleventy_available():
        message = "Eleventy is not installed: run `cd tests/eleventy && npm ci` (needs Node.js)"
        if os.environ.get("NLC_DIFFERENTIAL_TESTS") == "required":
            pytest.fail(message)
        pytest.skip(message)
    return eleventy.build()


def front_matter(path: Path) -> tuple[dict, str]:
    _, matter, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(matter), body


def test_eleventy_writes_the_expected_pages(built):
    assert set(built) == {
        "/", "/404.html", "/accessibility/", "/collections-debug.json", "/nunjucks-features/",
        "/our-programme/", "/pages/contact/", "/pages/who-we-are/team.md/", "/sitemap.xml",
        "/what-we-do/", "/who-we-are/",
        "/pages/who-we-are/team/alice-smith/", "/pages/who-we-are/team/bola-adeyemi/",
        "/pages/who-we-are/team/chen-wei/", "/pages/who-we-are/team/dafydd-jones/",
        "/posts/2019-12-10-launch/", "/posts/2020-03-01-leaders-meet/", "/posts/2020-04-15-second-cohort/",
    }  # fmt: skip
    assert not any("README" in path for path in built)  # .eleventyignore
    assert "/404.html" not in eleventy.collections(built)["all"]  # eleventyExcludeFromCollections
    assert "/sitemap.xml" not in eleventy.collections(built)["all"]


def test_team_page_lists_members_in_order_with_their_content(built):
    team = built["/pages/who-we-are/team.md/"]
    names = [line.strip()[4:-5] for line in team.splitlines() if line.strip().startswith("<h2>")]
    assert names == ["Alice Smith", "Chen Wei", "Bola Adeyemi"]  # order 1, then 2 by date
    assert "<p>Alice leads the Centre.<br>\nShe joined in 2019.</p>\n" in team
    assert "Dafydd" not in team


def test_custom_collections_follow_site_toml(built):
    """Eleventy's order for each custom collection is what site.toml's
    sort gives over Eleventy's default order (date, then input path)."""
    config = parse_site_config((SITE / "site.toml").read_bytes())
    order = eleventy.collections(built)
    by_url = {}
    for path in SITE.rglob("*"):
        if (
            path.suffix not in (".md", ".njk", ".html", ".liquid")
            or "_includes" in path.parts
            or path.name == "README.md"
        ):
            continue
        data, _ = front_matter(path)
        folder_data = path.parent / f"{path.parent.name}.json"
        defaults = json.loads(folder_data.read_text()) if folder_data.exists() else {}
        data = {**defaults, **data}  # data_deep_merge = false: front matter replaces
        tags = data.get("tags", [])
        data["tags"] = [tags] if isinstance(tags, str) else tags
        by_url[default_url(path, data)] = data
    default_order = order["all"]
    assert config.data_deep_merge is False
    for collection in config.collections:
        tagged = [url for url in default_order if collection.tag in by_url[url]["tags"]]
        assert sort_collection(tagged, collection.sort, lambda url: by_url[url]) == order[collection.name], (
            collection.name
        )


def default_url(path: Path, data: dict) -> str:
    """page.url as Eleventy 0.11 makes it for the fixture's files."""
    permalink = data.get("permalink")
    if permalink:
        return "/" + permalink.lstrip("/")
    relative = path.relative_to(SITE).with_suffix("")  # only the last extension: team.md.njk -> team.md
    parts = relative.parts[:-1] if relative.name == "index" else relative.parts
    return "/" + "".join(part + "/" for part in parts)


HTML_PAGES_ONLY = {"/sitemap.xml", eleventy.COLLECTIONS_DEBUG}  # skipped by the API, with a warning


@pytest.fixture
def published(built, publish, client) -> dict[str, dict]:
    """The fixture site published through `nlc-api publish`, unchanged, and
    the API's record for each path Eleventy writes."""
    output = publish(SITE)
    assert "skipped: its permalink /sitemap.xml is not an HTML page" in output
    records = {}
    for path in set(built) - HTML_PAGES_ONLY:
        response = client.http.get(f"/content?path={path}")
        assert response.status_code == 200, path
        records[path] = json.loads(response.body)
    return records


def test_the_api_serves_every_page_body_as_eleventy_writes_it(built, published):
    ours = {path: record["html"] for path, record in published.items()}
    assert eleventy.compare_pages(built, ours, only=set(built) - HTML_PAGES_ONLY) == []


def test_the_api_serves_custom_collections_in_eleventys_order(built, published, client):
    order = eleventy.collections(built)
    config = parse_site_config((SITE / "site.toml").read_bytes())
    for collection in config.collections:
        response = client.http.get(f"/collections/{collection.name}")
        assert response.status_code == 200, collection.name
        assert [item["path"] for item in json.loads(response.body)["items"]] == order[collection.name]
        # The tag's own collection holds the same pages, in menu order.
        tagged = json.loads(client.http.get(f"/collections/{collection.tag}").body)["items"]
        assert sorted(item["path"] for item in tagged) == sorted(order[collection.name])


def test_the_api_lists_what_eleventy_collects(built, published, client):
    pages = json.loads(client.http.get("/pages").body)["pages"]
    listed = {page["path"] for page in pages if page["listed"]}
    listed |= {post["path"] for post in json.loads(client.http.get("/posts?limit=50").body)["posts"]}
    assert listed == set(eleventy.collections(built)["all"]) - {eleventy.COLLECTIONS_DEBUG}
