"""Publishing as an editor meets it: `nlc-api publish` on a content folder,
what it says, and what the API then serves."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from conftest import SEED_CONTENT, body

from chalicelib import aws
from chalicelib.settings import get_settings
from nlc_tools.cli import CommandError


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def page(title: str, extra: str = "", body_text: str = "Some words.") -> str:
    return f"---\ntitle: {title}\n{extra}---\n\n{body_text}\n"


def fails(publish, folder: Path) -> str:
    with pytest.raises(CommandError) as raised:
        publish(folder)
    return raised.value.output + str(raised.value)


def table_keys() -> set[tuple[str, str]]:
    items = aws.dynamodb().scan(TableName=get_settings().content_table)["Items"]
    return {(item["pk"]["S"], item["sk"]["S"]) for item in items}


def bucket_keys() -> list[str]:
    listing = aws.s3().list_objects_v2(Bucket=get_settings().content_bucket)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


# Summary, change detection, deletion -------------------------------------------


def test_publish_reports_progress_and_a_summary(publish):
    output = publish()
    assert "create /what-we-do/  (pages/what-we-do.md)" in output
    assert (
        "Published: 2 created, 0 updated, 0 deleted, 0 unchanged; 1 document(s) written, 4 file(s) uploaded to S3.\n"
        in output
    )
    assert "warning" not in output


def test_mis_decoded_text_is_served_as_written_with_a_warning_naming_the_file_and_line(
    publish, client, tmp_path
):
    site = write(tmp_path, {"about.md": page("About", body_text="Line one.\n\nThe Centreâ€™s work.")})

    output = publish(site)

    assert "warning: about.md:7: 'â€™' looks mis-decoded: did you mean '’'?" in output
    # As Eleventy would render it: the editor mends the file.
    assert "Centreâ€™s" in body(client.http.get("/content?path=/about/"))["html"]


def test_sources_are_uploaded_to_a_versioned_bucket(publish, tmp_path):
    site = write(tmp_path, {"about.md": page("About")})
    publish(site)
    write(site, {"about.md": page("About", body_text="New words.")})
    publish(site)
    versions = aws.s3().list_object_versions(Bucket=get_settings().content_bucket, Prefix="content/about.md")
    assert len(versions["Versions"]) == 2


def test_republishing_unchanged_content_makes_no_writes(publish, aws_calls):
    publish()
    aws_calls.clear()
    output = publish()
    assert "0 created, 0 updated, 0 deleted, 2 unchanged" in output
    writes = [
        call
        for call in aws_calls
        if call[1] in ("PutItem", "BatchWriteItem", "DeleteItem", "PutObject", "DeleteObject")
    ]
    assert writes == []


def test_a_changed_file_is_updated_and_only_it_is_written(publish, client, tmp_path, aws_calls):
    site = write(tmp_path, {"a.md": page("A"), "b.md": page("B")})
    publish(site)
    before = body(client.http.get("/content?path=/b/"))
    write(site, {"a.md": page("A", body_text="Changed words.")})
    aws_calls.clear()
    output = publish(site)
    assert "update /a/  (a.md)" in output
    assert "0 created, 1 updated, 0 deleted, 1 unchanged" in output
    assert [call for call in aws_calls if call[1] == "PutObject"] == [("S3", "PutObject")]
    assert "Changed words." in body(client.http.get("/content?path=/a/"))["html"]
    assert body(client.http.get("/content?path=/b/")) == before


def test_a_removed_page_is_removed_from_the_api(publish, client, tmp_path):
    site = write(tmp_path, {"a.md": page("A", "tags: nav\n"), "b.md": page("B", "tags: nav\n")})
    publish(site)
    (site / "b.md").unlink()
    output = publish(site)
    assert "0 created, 0 updated, 1 deleted, 1 unchanged" in output
    assert client.http.get("/content?path=/b/").status_code == 404
    assert client.http.get("/pages/b").status_code == 404
    assert [item["slug"] for item in body(client.http.get("/collections/nav"))["items"]] == ["a"]
    assert bucket_keys() == ["content/a.md"]


def test_a_moved_page_leaves_nothing_behind(publish, client, tmp_path):
    site = write(tmp_path, {"a.md": page("A", "permalink: /old/\ntags: [nav]\norder: 1\n")})
    publish(site)
    write(site, {"a.md": page("A", "permalink: /new/\ntags: [footer]\norder: 2\n")})
    publish(site)
    assert client.http.get("/content?path=/old/").status_code == 404
    assert client.http.get("/collections/nav").status_code == 404
    assert body(client.http.get("/content?path=/new/"))["order"] == 2


def test_a_renamed_file_keeps_its_page(publish, client, tmp_path):
    site = write(tmp_path, {"old-name.md": page("A", "permalink: /a/\n")})
    publish(site)
    (site / "old-name.md").rename(site / "new-name.md")
    publish(site)
    assert body(client.http.get("/content?path=/a/"))["slug"] == "new-name"


def test_dry_run_validates_and_writes_nothing(publish, aws_backend):
    output = publish(SEED_CONTENT, "--dry-run")
    assert "Would publish: 2 created" in output
    assert table_keys() == set()
    assert bucket_keys() == []


# Validation: nothing is written when any file is wrong --------------------------


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"bad.md": "---\ntitle: T\norder: second\n---\n"}, "bad.md:3: order: must be a number, like 2"),
        (
            {"bad.md": "---\ntitle: T\ntags: [a, 2]\n---\n"},
            "bad.md:3: tags.1: input should be a valid string",
        ),
        ({"bad.md": "---\ntitle: [a, b]\n---\n"}, "bad.md:2: title: must be text, a number or a date"),
        ({"bad.md": "---\ntitle: T\ndate: someday\n---\n"}, "bad.md:3: date: input should be a valid date"),
        ({"bad.md": "---\ntitle: T\ntags: [a, b\n---\n"}, "bad.md:3: front matter is not valid YAML"),
        ({"bad.md": "---\ntitle: T\n"}, "bad.md:1: front matter starts with --- but never ends with ---"),
        ({"bad.md": "---\n- a list\n---\n"}, "bad.md:2: front matter must be a set of `name: value` fields"),
        ({"bad.md": b"---\ntitle: caf\xe9\n---\n"}, "bad.md:2: is not UTF-8 text"),
        ({"bad.md": "---\ntitle: T\nslug: mine\n---\n"}, "bad.md: slug: is set by the API; rename it"),
        (
            {"bad.md": "---\ntitle: T\nalternative_format_contact: nobody\n---\n"},
            "bad.md:3: alternative_format_contact",
        ),
        ({"bad.md": "---\ntitle: T\npermalink: 5\n---\n"}, "bad.md:3: permalink"),
        (
            {"bad.md": "---\ntitle: T\npermalink: /a/../b/\n---\n"},
            "bad.md: permalink: The path must not contain",
        ),
        ({"posts/undated.md": "---\ntitle: T\n---\n"}, "posts/undated.md: date: a post needs a date"),
        (
            {"a.md": page("A", "permalink: /same/\n"), "b.md": page("B", "permalink: /same/\n")},
            "b.md:3: URL path /same/ is already used by a.md",
        ),
        (
            {"x/page.md": page("A"), "y/page.md": page("B")},
            "y/page.md: page name page is already used by x/page.md",
        ),
        ({"team/team.json": '{"layout": }', "team/a.md": page("A")}, "team/team.json:1: is not valid JSON"),
        ({"bad.md": page("T", body_text="{% if %}")}, "bad.md:5: template error"),
    ],
)
def test_invalid_content_names_the_file_line_and_field_and_publishes_nothing(
    publish, tmp_path, files, expected
):
    site = write(tmp_path, {"good.md": page("Good"), **files})
    output = fails(publish, site)
    assert expected in output
    assert "nothing was published" in output
    assert table_keys() == set()
    assert bucket_keys() == []


def test_a_page_too_large_for_dynamodb_is_refused_before_any_write(publish, tmp_path):
    site = write(tmp_path, {"good.md": page("Good"), "huge.md": page("Huge", body_text="word " * 90_000)})
    output = fails(publish, site)
    assert "huge.md: html: makes a DynamoDB item of" in output
    assert "the limit is 409,600 bytes (400 KB)" in output
    assert "2 problem(s)" not in output  # once per file and field, not once per record
    assert table_keys() == set()
    assert bucket_keys() == []


def test_every_problem_is_reported_at_once(publish, tmp_path):
    site = write(tmp_path, {"a.md": "---\norder: x\ntags: 3\n---\n", "b.md": "---\ntitle: [\n---\n"})
    output = fails(publish, site)
    assert "a.md:2: order:" in output
    assert "a.md:3: tags" in output
    assert "b.md:2: front matter is not valid YAML" in output  # the line with the [ left open
    assert "3 problem(s) in the content; nothing was published" in output


def test_a_missing_content_folder_is_an_error(publish, tmp_path):
    assert "is not a folder" in fails(publish, tmp_path / "nowhere")


# Eleventy's conventions -----------------------------------------------------------


def test_liquid_places_front_matter_values_in_the_body(publish, client, tmp_path):
    site = write(
        tmp_path,
        {
            "a.md": page(
                "Hello", "team:\n  lead: Ada\n", "# {{ title }}\n\nLed by {{ team.lead }} at {{ page.url }}."
            )
        },
    )
    publish(site)
    html = body(client.http.get("/content?path=/a/"))["html"]
    assert '<h1 id="hello">Hello</h1>' in html
    assert "<p>Led by Ada at /a/.</p>" in html


@pytest.mark.parametrize(
    "template", ["{% include '/etc/passwd' %}", "{% render 'secrets' %}", "{% include '../../README.md' %}"]
)
def test_a_body_cannot_read_or_include_files(publish, tmp_path, template):
    site = write(tmp_path, {"a.md": page("A", body_text=template)})
    output = fails(publish, site)
    assert "a.md:5: template error" in output
    assert table_keys() == set()


def test_directory_data_gives_defaults_that_front_matter_overrides(publish, client, tmp_path):
    site = write(
        tmp_path,
        {
            "team/team.json": '{"layout": "layouts/person.njk", "tags": ["team"], "contact": {"team": "NLC"}}',
            "team/ada.md": page(
                "Ada", "name: Ada Lovelace\ntags: lead\ncontact:\n  email: ada@example.gov.uk\n"
            ),
            "team/bob.md": page("Bob", "layout: layouts/other.njk\n"),
        },
    )
    publish(site)
    ada = body(client.http.get("/pages/ada"))
    assert ada["layout"] == "layouts/person.njk"
    assert ada["tags"] == ["team", "lead"]
    assert ada["name"] == "Ada Lovelace"
    assert ada["contact"] == {"team": "NLC", "email": "ada@example.gov.uk"}
    assert body(client.http.get("/pages/bob"))["layout"] == "layouts/other.njk"
    assert [item["slug"] for item in body(client.http.get("/collections/team"))["items"]] == ["ada", "bob"]
    # Changing the folder's defaults republishes the pages they reach.
    write(site, {"team/team.json": '{"layout": "layouts/new.njk", "tags": ["team"]}'})
    assert "0 created, 2 updated" in publish(site)


def test_collections_sort_by_order_then_title_unordered_last(publish, client, tmp_path):
    site = write(
        tmp_path,
        {
            "c.md": page("Charlie", "tags: nav\norder: 2\n"),
            "b.md": page("bravo", "tags: nav\norder: 2\n"),
            "z.md": page("Zulu", "tags: nav\norder: -1\n"),
            "a.md": page("Alpha", "tags: nav\n"),
            "d.md": page("Delta", "tags: [nav, footer]\norder: 10\n"),
        },
    )
    publish(site)
    items = body(client.http.get("/collections/nav?include=html"))["items"]
    assert [item["title"] for item in items] == ["Zulu", "bravo", "Charlie", "Delta", "Alpha"]
    assert all(item["html"] == "<p>Some words.</p>\n" for item in items)
    assert [item["title"] for item in body(client.http.get("/collections/footer"))["items"]] == ["Delta"]


def test_permalink_false_page_has_no_url_but_is_in_its_collections(publish, client, tmp_path):
    site = write(tmp_path, {"snippet.md": page("Snippet", "permalink: false\ntags: footer\n")})
    publish(site)
    assert body(client.http.get("/pages/snippet"))["path"] is None
    assert body(client.http.get("/pages/snippet"))["permalink"] is False
    assert body(client.http.get("/collections/footer"))["items"][0]["slug"] == "snippet"
    assert client.http.get("/content?path=/snippet/").status_code == 404


def test_default_urls_follow_the_file_path(publish, client, tmp_path):
    site = write(
        tmp_path, {"about/index.md": page("About"), "about/team.md": page("Team"), "index.md": page("Home")}
    )
    publish(site)
    assert body(client.http.get("/content?path=/about/"))["slug"] == "about"
    assert body(client.http.get("/content?path=/about/team/"))["slug"] == "team"
    assert body(client.http.get("/content?path=/"))["title"] == "Home"


def test_nested_and_unknown_front_matter_is_kept_as_data(publish, client, tmp_path):
    site = write(
        tmp_path,
        {
            "a.md": page(
                "A",
                "hero:\n  image: /img/a.png\n  alt: A person\nfeatured: true\nrating: 4.5\nupdated_on: 2020-01-02\n",
            )
        },
    )
    publish(site)
    data = body(client.http.get("/pages/a"))
    assert data["hero"] == {"image": "/img/a.png", "alt": "A person"}
    assert data["featured"] is True and data["rating"] == 4.5
    assert data["updated_on"] == "2020-01-02"


def test_redirects_declared_in_content_are_permanent(publish, client, tmp_path):
    site = write(
        tmp_path,
        {"a.md": page("A", "permalink: /new-home/\nredirect_from:\n  - /old-home/\n  - /older/index.html\n")},
    )
    publish(site)
    for old in ("/old-home/", "/old-home", "/older/"):
        response = client.http.get(f"/content?path={old}", headers={"Origin": "http://localhost:8080"})
        assert response.status_code == 301
        assert response.headers["Location"] == "content?path=%2Fnew-home%2F"
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
        assert body(response) == {"path": "/new-home/"}
    # Location resolves against the request URL to the new page's own answer.
    followed = client.http.get("/" + response.headers["Location"])
    assert body(followed)["path"] == "/new-home/"
    # Dropping the redirect removes it.
    write(site, {"a.md": page("A", "permalink: /new-home/\n")})
    publish(site)
    assert client.http.get("/content?path=/old-home/").status_code == 404


def test_posts_are_newest_first_and_paginated(publish, client, tmp_path):
    files = {
        f"posts/2020-01-{day:02d}-post-{day}.md": page(f"Post {day}", "author: NLC\n") for day in range(1, 6)
    }
    files["posts/dated-in-front-matter.md"] = page("Front", "date: 2021-06-01\nsummary: S\n")
    publish(write(tmp_path, files))
    first = body(client.http.get("/posts?limit=2"))
    assert [post["slug"] for post in first["posts"]] == ["dated-in-front-matter", "post-5"]
    assert first["posts"][0]["date"] == "2021-06-01"
    second = body(client.http.get(f"/posts?limit=2&cursor={first['next']}"))
    assert [post["slug"] for post in second["posts"]] == ["post-4", "post-3"]
    third = body(client.http.get(f"/posts?limit=3&cursor={second['next']}"))
    assert [post["slug"] for post in third["posts"]] == ["post-2", "post-1"]
    assert third["next"] is None
    assert body(client.http.get("/posts/post-1"))["reading_time_minutes"] == 1


def test_documents_are_collected_from_markdown_and_html_links(publish, client, tmp_path):
    site = write(
        tmp_path,
        {
            "a.md": page(
                "A",
                "alternative_format_contact: formats@example.gov.uk\n",
                "[Annual report](/files/report.pdf) (PDF, 2.5 MB, 10 pages)\n\n[Data](/files/data.csv)\n\n[Not a document](/about/)",
            ),
            "b.md": page("B", body_text='<a href="/files/report.pdf">Annual report</a>'),
        },
    )
    publish(site)
    documents = {document["url"]: document for document in body(client.http.get("/documents"))["documents"]}
    assert set(documents) == {"/files/report.pdf", "/files/data.csv"}
    report = documents["/files/report.pdf"]
    assert (report["title"], report["type"], report["size"], report["pages"]) == (
        "Annual report",
        "PDF",
        "2.5MB",
        10,
    )
    assert report["linked_from"] == [{"path": "/a/", "title": "A"}, {"path": "/b/", "title": "B"}]
    assert report["alternative_format_contact"] == "formats@example.gov.uk"
    assert (documents["/files/data.csv"]["type"], documents["/files/data.csv"]["size"]) == ("CSV", None)


# The bucket's events: the same indexing code -----------------------------------


def test_an_upload_to_the_bucket_is_indexed_by_the_event_handler(client, aws_backend):
    from chalice.test import Client  # noqa: F401 - the fixture's client runs the handler

    bucket = get_settings().content_bucket
    aws.s3().put_object(Bucket=bucket, Key="content/news.md", Body=page("News").encode())
    event = client.events.generate_cw_event(
        source="aws.s3",
        detail_type="Object Created",
        detail={"bucket": {"name": bucket}, "object": {"key": "content/news.md"}},
        resources=[],
    )
    client.lambda_.invoke("index_content", event)
    assert body(client.http.get("/content?path=/news/"))["title"] == "News"

    aws.s3().delete_object(Bucket=bucket, Key="content/news.md")
    client.lambda_.invoke("index_content", event)
    assert client.http.get("/content?path=/news/").status_code == 404


def test_events_for_other_buckets_are_ignored(client, aws_backend):
    event = client.events.generate_cw_event(
        source="aws.s3",
        detail_type="Object Created",
        detail={"bucket": {"name": "someone-elses-bucket"}, "object": {"key": "content/x.md"}},
        resources=[],
    )
    client.lambda_.invoke("index_content", event)
    assert table_keys() == set()


def test_a_change_to_prose_saying_collections_rewrites_that_page_and_the_page_listing_them(publish, tmp_path):
    files = {
        f"pages/p{n}.md": page(f"P{n}", "tags: [nav]\n", f"Our collections of reports, part {n}.")
        for n in range(5)
    }
    files["pages/menu.md"] = page(
        "Menu", body_text="{% for item in collections.nav %}{{ item.data.title }} {% endfor %}"
    )
    files["pages/plain.njk"] = page("Plain", body_text="Nunjucks prose about collections, no code.")
    site = write(tmp_path, files)
    publish(site)
    (site / "pages" / "p2.md").write_text(page("P2", "tags: [nav]\n", "Our collections, changed."))

    output = publish(site)

    assert "Published: 0 created, 2 updated, 0 deleted, 5 unchanged" in output
    assert sorted(line.split("(")[-1] for line in output.splitlines() if line.startswith("update ")) == [
        "pages/menu.md)",
        "pages/p2.md)",
    ]


def test_a_release_of_10000_files_keeps_every_version_though_no_one_item_holds_them(aws_backend):
    import random

    from chalicelib.tables import content_table

    rng = random.Random(22)
    files = {
        f"pages/page-{n:05d}.md": [rng.randbytes(18).hex(), rng.randbytes(16).hex()] for n in range(10_000)
    }
    stored, *parts = content_table.release_items(
        "2026-12-03T08:00:00.000000Z", files, by="test", pages="10000"
    )
    assert parts and all(content_table.size_problem(item) is None for item in [stored, *parts])
    content_table.write_batch(parts, [])
    content_table.write_batch([stored], [])
    assert content_table.release_files(content_table.releases(1)[0]) == files
