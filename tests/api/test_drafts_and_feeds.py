"""Drafts, scheduled pages, feeds, the sitemap and Last-Modified, as readers
and editors meet them: content published through the CLI, read through the
HTTP API, against moto."""

from __future__ import annotations

import calendar
import datetime as dt
import json
from email.utils import format_datetime
from xml.etree import ElementTree

import pytest
from conftest import FUTURE, SEED_CONTENT, body

from nlc_tools.cli import CommandError

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")

SITE = "http://localhost:8080"
SEED_POST = "/blog/what-is-the-national-leadership-centre/"
PAST_POST = "/posts/2024-05-01-mentoring-resilience/"
FUTURE_POST = "/posts/2099-01-04-future-vision/"
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
WRITES = ("PutItem", "BatchWriteItem", "DeleteItem", "PutObject", "DeleteObject")


@pytest.fixture
def published(publish, reader_content):
    publish(reader_content)
    return reader_content


def scheduled_event(client):
    return client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )


def paths_of(client, url: str, key: str) -> list[str]:
    return [item["path"] for item in body(client.http.get(url))[key]]


def seconds_until(moment: str) -> float:
    return dt.datetime.fromisoformat(moment).timestamp() - dt.datetime.now(dt.UTC).timestamp()


# Drafts -------------------------------------------------------------------------------


def test_a_draft_is_absent_from_every_public_route(client, published):
    assert client.http.get("/content?path=/pages/draft-plans/").status_code == 404
    assert client.http.get("/pages/draft-plans").status_code == 404
    assert "/pages/draft-plans/" not in paths_of(client, "/pages", "pages")
    assert "/pages/draft-plans/" not in client.http.get("/sitemap.xml").body.decode()


def test_staff_preview_drafts_and_scheduled_pages(client, published):
    draft = client.http.get("/admin/preview?path=/pages/draft-plans/")
    assert draft.status_code == 200
    assert draft.headers["Cache-Control"] == "no-store"
    record = body(draft)
    assert (record["title"], record["draft"]) == ("Draft plans", True)
    assert "zephyrine" in record["html"]

    scheduled = body(client.http.get(f"/admin/preview?path={FUTURE_POST}"))
    assert scheduled["publish_at"] == "2099-01-04T09:00:00+00:00"
    assert client.http.get("/admin/preview?path=/what-we-do/").status_code == 404


def test_public_records_say_nothing_of_drafts(client, published):
    assert "draft" not in body(client.http.get("/content?path=/what-we-do/"))


def test_republishing_drafts_and_scheduled_pages_unchanged_makes_no_writes(publish, published, aws_calls):
    aws_calls.clear()
    output = publish(published)
    assert "0 created, 0 updated, 0 deleted, 7 unchanged" in output
    assert [call for call in aws_calls if call[1] in WRITES] == []


def test_a_page_made_a_draft_leaves_and_comes_back_when_published_again(client, publish, published):
    page = published / "pages" / "mentoring.md"
    text = page.read_text()
    page.write_text(text.replace("title: Programme\n", "title: Programme\ndraft: true\n"))
    publish(published)
    assert client.http.get("/content?path=/pages/mentoring/").status_code == 404
    assert body(client.http.get("/search?q=mentoring"))["results"][0]["path"] == PAST_POST
    assert len(body(client.http.get("/search?q=mentoring"))["results"]) == 1

    page.write_text(text)
    publish(published)
    assert client.http.get("/content?path=/pages/mentoring/").status_code == 200
    assert client.http.get("/admin/preview?path=/pages/mentoring/").status_code == 404


@pytest.mark.parametrize(
    "value",
    ["2099-01-04T09:00:00", "2099-01-04", "tomorrow", "1767225600"],
)
def test_publish_at_must_be_an_iso_8601_time_with_a_timezone(publish, tmp_path, value):
    (tmp_path / "later.md").write_text(f"---\ntitle: Later\npublish_at: {value}\n---\n\nSoon.\n")
    with pytest.raises(CommandError) as raised:
        publish(tmp_path)
    assert "later.md:3: publish_at: value error, must be an ISO 8601 date and time with a timezone" in (
        raised.value.output
    )


def test_draft_must_be_true_or_false(publish, tmp_path):
    (tmp_path / "maybe.md").write_text("---\ntitle: Maybe\ndraft: perhaps\n---\n\nSoon.\n")
    with pytest.raises(CommandError) as raised:
        publish(tmp_path)
    assert "maybe.md:3: draft: input should be a valid boolean" in raised.value.output


# Scheduled pages ----------------------------------------------------------------------


def test_a_post_whose_time_has_passed_is_public_and_a_future_one_is_not(client, published):
    assert paths_of(client, "/posts", "posts") == [PAST_POST, SEED_POST]
    assert client.http.get(f"/content?path={PAST_POST}").status_code == 200
    assert client.http.get(f"/content?path={FUTURE_POST}").status_code == 404


def test_the_scheduled_function_makes_a_due_post_live(client, published, submissions_clock, aws_calls):
    aws_calls.clear()
    client.lambda_.invoke("publish_scheduled", scheduled_event(client))
    assert aws_calls == [("DynamoDB", "Query")]  # nothing is due: one Query, no writes

    submissions_clock.offset = seconds_until(FUTURE) + 60
    client.lambda_.invoke("publish_scheduled", scheduled_event(client))

    post = body(client.http.get(f"/content?path={FUTURE_POST}"))
    assert post["title"] == "A future vision"
    assert paths_of(client, "/posts", "posts")[0] == FUTURE_POST
    assert [result["path"] for result in body(client.http.get("/search?q=quokkas"))["results"]] == [
        FUTURE_POST
    ]
    assert f"{SITE}{FUTURE_POST}" in client.http.get("/sitemap.xml").body.decode()
    assert body(client.http.get("/feed.json"))["items"][0]["url"] == f"{SITE}{FUTURE_POST}"
    assert client.http.get(f"/admin/preview?path={FUTURE_POST}").status_code == 404
    # It changed when it went live, a minute after it was due.
    assert "2099-01-04T09:01:00Z" <= post["updated"] < "2099-01-04T09:05:00Z"

    aws_calls.clear()
    client.lambda_.invoke("publish_scheduled", scheduled_event(client))
    assert aws_calls == [("DynamoDB", "Query")]  # gone from the queue


def test_publishing_after_the_moment_makes_it_live_too(client, publish, published, submissions_clock):
    submissions_clock.offset = seconds_until(FUTURE) + 1
    output = publish(published)
    # It joins the public site: created there, its preview removed.
    assert "create /posts/2099-01-04-future-vision/" in output
    assert client.http.get(f"/content?path={FUTURE_POST}").status_code == 200


# Feeds and the sitemap ----------------------------------------------------------------


def test_the_atom_feed_holds_the_public_posts_newest_first(client, published):
    response = client.http.get("/feed.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml"
    feed = ElementTree.fromstring(response.body)
    assert feed.tag == f"{ATOM}feed"
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}id") for entry in entries] == [f"{SITE}{PAST_POST}", f"{SITE}{SEED_POST}"]
    past = entries[0]
    assert past.findtext(f"{ATOM}title") == "Leaders & their networks"
    assert past.find(f"{ATOM}link").get("href") == f"{SITE}{PAST_POST}"
    assert past.findtext(f"{ATOM}summary") == "Mentoring <and> resilience."
    assert past.findtext(f"{ATOM}published") == "2024-05-01T00:00:00Z"
    assert past.findtext(f"{ATOM}updated").endswith("Z")
    assert past.findtext(f"{ATOM}author/{ATOM}name") == "Ada Lovelace"
    content = past.find(f"{ATOM}content")
    assert content.get("type") == "html" and content.text.startswith("<p>Senior leaders")
    # Escaped, not markup: the raw XML holds the entities.
    assert b"Leaders &amp; their networks" in response.body
    assert feed.findtext(f"{ATOM}updated") == max(entry.findtext(f"{ATOM}updated") for entry in entries)


def test_the_json_feed_holds_the_same_posts(client, published):
    response = client.http.get("/feed.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/feed+json"
    feed = json.loads(response.body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["home_page_url"] == f"{SITE}/"
    [past, seed] = feed["items"]
    assert (past["id"], past["url"], past["title"]) == (
        f"{SITE}{PAST_POST}",
        f"{SITE}{PAST_POST}",
        "Leaders & their networks",
    )
    assert past["summary"] == "Mentoring <and> resilience."
    assert past["content_html"].startswith("<p>Senior leaders")
    assert past["date_published"] == "2024-05-01T00:00:00Z" and past["date_modified"].endswith("Z")
    assert past["authors"] == [{"name": "Ada Lovelace"}]
    assert seed["url"] == f"{SITE}{SEED_POST}"


def test_the_sitemap_lists_every_public_page_with_a_url(client, published):
    response = client.http.get("/sitemap.xml")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml"
    urls = ElementTree.fromstring(response.body).findall(f"{SITEMAP}url")
    located = {url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in urls}
    assert set(located) == {
        f"{SITE}/what-we-do/",
        f"{SITE}/pages/mentoring/",
        f"{SITE}{SEED_POST}",
        f"{SITE}{PAST_POST}",
    }
    what_we_do = body(client.http.get("/content?path=/what-we-do/"))
    assert located[f"{SITE}/what-we-do/"] == what_we_do["updated"]


def test_the_sitemap_leaves_out_redirects(client, publish, tmp_path):
    (tmp_path / "new.md").write_text("---\ntitle: New\nredirect_from: [/old/]\n---\n\nHere now.\n")
    publish(tmp_path)
    text = client.http.get("/sitemap.xml").body.decode()
    assert f"{SITE}/new/" in text and "/old/" not in text


def test_feeds_and_sitemap_are_404_before_anything_is_published(client):
    for url in ("/feed.xml", "/feed.json", "/sitemap.xml"):
        assert client.http.get(url).status_code == 404, url


# Last-Modified and If-Modified-Since ----------------------------------------------------

CONTENT_ROUTES = (
    "/content?path=/what-we-do/",
    "/pages",
    "/pages/what-we-do",
    "/collections/nav",
    "/posts",
    "/posts/what-is-the-national-leadership-centre",
    "/documents",
    "/search?q=leader",
    "/feed.xml",
    "/feed.json",
    "/sitemap.xml",
)


def http_date(text: str) -> float:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(text).timestamp()


def test_every_content_answer_says_when_it_last_changed(client, published):
    published_at = body(client.http.get("/content?path=/what-we-do/"))["updated"]
    expected = format_datetime(dt.datetime.fromisoformat(published_at), usegmt=True)
    for url in CONTENT_ROUTES:
        assert client.http.get(url).headers["Last-Modified"] == expected, url


def test_if_modified_since_answers_304_and_if_none_match_takes_precedence(client, published):
    for url in CONTENT_ROUTES:
        first = client.http.get(url)
        since = first.headers["Last-Modified"]
        again = client.http.get(url, headers={"If-Modified-Since": since})
        assert (again.status_code, again.body) == (304, b""), url
        assert again.headers["Last-Modified"] == since and again.headers["ETag"] == first.headers["ETag"]
        earlier = format_datetime(dt.datetime.fromtimestamp(http_date(since) - 1, dt.UTC), usegmt=True)
        assert client.http.get(url, headers={"If-Modified-Since": earlier}).status_code == 200, url
        stale_etag = {"If-None-Match": '"other"', "If-Modified-Since": since}
        assert client.http.get(url, headers=stale_etag).status_code == 200, url
    assert client.http.get("/pages", headers={"If-Modified-Since": "not a date"}).status_code == 200


def test_a_list_changes_when_an_item_leaves(client, publish, published, submissions_clock):
    before = client.http.get("/pages").headers["Last-Modified"]
    posts_before = client.http.get("/posts").headers["Last-Modified"]
    submissions_clock.offset = 3600
    (published / "pages" / "mentoring.md").unlink()
    publish(published)

    after = client.http.get("/pages", headers={"If-Modified-Since": before})
    assert after.status_code == 200
    assert http_date(after.headers["Last-Modified"]) == pytest.approx(http_date(before) + 3600, abs=5)
    # The posts did not change.
    assert client.http.get("/posts").headers["Last-Modified"] == posts_before
    assert client.http.get("/posts", headers={"If-Modified-Since": posts_before}).status_code == 304


def test_an_unchanged_page_keeps_its_last_modified_across_publishes(
    client, publish, published, submissions_clock
):
    before = client.http.get("/content?path=/what-we-do/").headers["Last-Modified"]
    submissions_clock.offset = 3600
    (published / "pages" / "mentoring.md").unlink()
    publish(published)
    assert client.http.get("/content?path=/what-we-do/").headers["Last-Modified"] == before
    lastmod = ElementTree.fromstring(client.http.get("/sitemap.xml").body).findtext(
        f"{SITEMAP}url/{SITEMAP}lastmod"
    )
    assert calendar.timegm(dt.datetime.fromisoformat(lastmod).utctimetuple()) == http_date(before)


def test_seed_content_alone_has_feeds_and_a_sitemap(client, publish):
    publish(SEED_CONTENT)
    assert client.http.get("/feed.xml").status_code == 200
    assert [item["url"] for item in body(client.http.get("/feed.json"))["items"]] == [f"{SITE}{SEED_POST}"]
