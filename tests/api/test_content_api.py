"""The content API as the website sees it: seed content published through
the CLI, read through the HTTP API, against moto."""

from __future__ import annotations

import json

import pytest
from conftest import body
from fake_aws import client_error

WHAT_WE_DO = "/content?path=/what-we-do/"
SEED_POST = "what-is-the-national-leadership-centre"
PDF_URL = (
    "https://assets.publishing.service.gov.uk/government/uploads/system/uploads/"
    "attachment_data/file/799567/6.4846_CO_CPSL-Report_A4-P_WEB_NoLogo__002.pdf"
)


@pytest.fixture(autouse=True)
def _seeded(seeded):
    """Every test here reads the published seed content."""


def test_seed_page_is_served_with_its_front_matter_at_the_top_level(client):
    response = client.http.get(WHAT_WE_DO)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    page = body(response)
    assert page["title"] == "What We Do"
    assert page["navtitle"] == "What we do"
    assert page["order"] == 2
    assert page["tags"] == ["nav"]
    assert page["permalink"] == "/what-we-do/index.html"
    assert page["layout"] == "layouts/what-we-do.njk"
    assert page["metadesc"].startswith("The National Leadership Centre supports cross-sector leadership")
    assert page["slug"] == "what-we-do"
    assert page["path"] == "/what-we-do/"
    assert page["updated"].endswith("Z")


def test_seed_page_renders_as_the_sites_markdown_it_does(client):
    html = body(client.http.get(WHAT_WE_DO))["html"]
    # Markdown between HTML blocks renders, with markdown-it-anchor's ids.
    assert (
        '<h2 id="the-national-leadership-centre%E2%80%99s-unique-purpose-is-to-support-cross-sector-'
        "leadership%2C-facilitating-and-supporting-people-to-work-together-on-the-toughest-challenges-"
        'we-face-as-a-country.">The National Leadership Centre’s unique purpose'
    ) in html
    assert '<li>Deliver a <a href="/our-programme/">flagship Leadership Programme</a>' in html
    assert '<h3 id="related-links%3A"><strong>Related Links:</strong></h3>' in html
    # Indented HTML inside a block stays HTML, never a code block.
    assert "<pre>" not in html and "<code>" not in html
    assert '\t<div class="pdf-left-block__pdf">\n\t\t<a href="https://assets.publishing' in html
    assert '<a href="mailto: publiccorrespondence@cabinetoffice.gov.uk">' in html
    assert "Centre’s unique purpose" in html


def test_page_lists_the_documents_it_links_to(client):
    documents = body(client.http.get(WHAT_WE_DO))["documents"]
    assert documents == [
        {
            "url": PDF_URL,
            "title": "October 2018: Better Public Services Report by the Public Services Leadership Taskforce",
            "type": "PDF",
            "size": "1010KB",
            "pages": 52,
        }
    ]


def test_documents_lists_each_document_with_the_pages_linking_to_it(client):
    response = client.http.get("/documents")
    assert response.status_code == 200
    assert body(response) == {
        "documents": [
            {
                "url": PDF_URL,
                "title": "October 2018: Better Public Services Report by the Public Services Leadership Taskforce",
                "type": "PDF",
                "size": "1010KB",
                "pages": 52,
                "linked_from": [{"path": "/what-we-do/", "title": "What We Do"}],
                "alternative_format_contact": None,
            }
        ],
        "next": None,
    }


@pytest.mark.parametrize(
    "path", ["/what-we-do/", "/what-we-do", "/what-we-do/index.html", "%2Fwhat-we-do%2F", " /what-we-do/ "]
)
def test_a_page_is_found_by_any_form_of_its_url(client, path):
    response = client.http.get(f"/content?path={path}")
    assert response.status_code == 200
    assert body(response)["slug"] == "what-we-do"


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("/content?path=/no-such-page/", 404, "not_found"),
        ("/content", 400, "bad_request"),
        ("/content?path=", 400, "bad_request"),
        ("/content?path=what-we-do", 400, "bad_request"),
        ("/content?path=//evil.example/", 400, "bad_request"),
        ("/content?path=/../etc/passwd", 400, "bad_request"),
        ("/content?path=/what%00-we-do/", 400, "bad_request"),
        ("/content?path=/" + "a" * 2000, 400, "bad_request"),
        ("/content?path=%ff%fe", 400, "bad_request"),
        ("/pages/no-such-page", 404, "not_found"),
        ("/pages/..%2F..", 404, "not_found"),
        ("/posts/no-such-post", 404, "not_found"),
        ("/collections/no-such-tag", 404, "not_found"),
        ("/posts?limit=0", 400, "bad_request"),
        ("/posts?limit=51", 400, "bad_request"),
        ("/posts?limit=ten", 400, "bad_request"),
        ("/posts?cursor=not-a-cursor", 400, "bad_request"),
        ("/posts?cursor=%%%", 400, "bad_request"),
    ],
)
def test_bad_paths_and_queries_get_a_plain_json_error(client, query, status, code):
    response = client.http.get(query)
    assert response.status_code == status
    error = body(response)["error"]
    assert error["code"] == code
    assert error["message"] and "Traceback" not in error["message"]
    assert response.headers["Content-Type"] == "application/json"


def test_every_response_has_an_etag_and_a_matching_if_none_match_gets_304(client):
    for url in (
        WHAT_WE_DO,
        "/pages",
        "/pages/what-we-do",
        "/collections/nav",
        "/posts",
        "/documents",
        "/health",
    ):
        first = client.http.get(url)
        etag = first.headers["ETag"]
        # The local stage's values: readers get the last good answer for a day of faults.
        assert first.headers["Cache-Control"] == (
            "public, max-age=60, stale-while-revalidate=300, stale-if-error=86400"
        )
        again = client.http.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304, url
        assert again.body == b""
        assert again.headers["ETag"] == etag
        weak = client.http.get(url, headers={"If-None-Match": f'"other", W/{etag}'})
        assert weak.status_code == 304
        stale = client.http.get(url, headers={"If-None-Match": '"something-else"'})
        assert stale.status_code == 200 and stale.body == first.body


def test_cache_lifetime_defaults_to_five_minutes_then_stale_for_minutes_or_a_day_of_faults(
    client, monkeypatch
):
    from chalicelib.settings import get_settings

    for name in ("NLC_CACHE_MAX_AGE", "NLC_CACHE_STALE_WHILE_REVALIDATE", "NLC_CACHE_STALE_IF_ERROR"):
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    assert client.http.get(WHAT_WE_DO).headers["Cache-Control"] == (
        "public, max-age=300, stale-while-revalidate=300, stale-if-error=86400"
    )


def test_cors_allows_only_the_sites_origins(client):
    allowed = client.http.get(WHAT_WE_DO, headers={"Origin": "http://localhost:8080"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert "Origin" in allowed.headers["Vary"]
    assert "ETag" in allowed.headers["Access-Control-Expose-Headers"]
    other = client.http.get(WHAT_WE_DO, headers={"Origin": "https://evil.example"})
    assert other.status_code == 200
    assert "Access-Control-Allow-Origin" not in other.headers
    error = client.http.get("/content?path=/nope/", headers={"Origin": "http://127.0.0.1:8080"})
    assert error.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8080"


def test_pages_lists_summaries_and_a_slug_gives_the_whole_page(client):
    pages = body(client.http.get("/pages"))["pages"]
    assert [page["slug"] for page in pages] == ["what-we-do"]
    assert "html" not in pages[0] and pages[0]["title"] == "What We Do"
    assert pages[0]["path"] == "/what-we-do/"
    page = body(client.http.get("/pages/what-we-do"))
    assert page == body(client.http.get(WHAT_WE_DO))


def test_collection_items_carry_their_data_and_html_only_when_asked(client):
    items = body(client.http.get("/collections/nav"))["items"]
    assert [item["navtitle"] for item in items] == ["What we do"]
    assert items[0]["path"] == "/what-we-do/"
    assert "html" not in items[0] and "documents" not in items[0]

    [full] = body(client.http.get("/collections/nav?include=html"))["items"]
    assert full["html"].startswith('<div class="header-block highlight">')
    assert full == body(client.http.get(WHAT_WE_DO))
    assert client.http.get("/collections/nav?include=everything").status_code == 400


def test_seed_post_is_listed_with_its_date_author_summary_and_reading_time(client):
    listing = body(client.http.get("/posts"))
    assert listing["next"] is None
    [post] = listing["posts"]
    assert post["slug"] == SEED_POST
    assert post["date"] == "2019-08-28"  # from the file name's prefix
    assert post["author"] == "National Leadership Centre"
    assert post["summary"] == "We help leaders work together to improve public services."
    assert post["reading_time_minutes"] == 3  # as the post was published: "3 min read"
    assert "html" not in post
    full = body(client.http.get(f"/posts/{SEED_POST}"))
    assert full["path"] == "/blog/what-is-the-national-leadership-centre/"
    assert '<h2 id="why-were-we-set-up%3F">Why were we set up?</h2>' in full["html"]
    assert full == body(client.http.get(f"/content?path={full['path']}"))


def test_health(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert body(response) == {"status": "ok", "stage": "local"}


def test_a_content_read_costs_one_aws_call(client, aws_calls):
    for url in (WHAT_WE_DO, "/pages", "/pages/what-we-do", "/collections/nav", "/posts", "/documents"):
        aws_calls.clear()
        assert client.http.get(url).status_code == 200
        assert aws_calls == [("DynamoDB", "GetItem" if "what-we-do" in url else "Query")], url
        assert "Scan" not in {operation for _service, operation in aws_calls}


def test_no_route_is_a_json_error_not_a_stack_trace(client):
    response = client.http.post("/pages", body=json.dumps({}), headers={"Content-Type": "application/json"})
    assert response.status_code == 405
    assert body(response)["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    "failure",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "InternalServerError", "unreachable"],
)
def test_a_dynamodb_fault_is_a_503_to_retry_not_a_500(client, fake_aws, capsys, failure):
    from botocore.exceptions import EndpointConnectionError

    fake_aws.fail(
        service="DynamoDB",
        error=EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com")
        if failure == "unreachable"
        else client_error(failure, "Query"),
    )
    for url in (WHAT_WE_DO, "/collections/nav", "/posts"):
        response = client.http.get(url, headers={"Origin": "http://localhost:8080"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
        assert body(response)["error"]["code"] == "service_unavailable"
    expected_code = "EndpointConnectionError" if failure == "unreachable" else failure
    assert f'"event":"read_failed","error":"{expected_code}"' in capsys.readouterr().out


# Paged lists -------------------------------------------------------------------------------


def every_page_by_cursor(client, url: str, name: str) -> tuple[list[dict], int]:
    found, answers, cursor = [], 0, None
    while True:
        separator = "&" if "?" in url else "?"
        response = client.http.get(url + (f"{separator}cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.body
        assert len(response.body) < 1_000_000
        answer = body(response)
        found += answer[name]
        answers += 1
        cursor = answer["next"]
        if cursor is None:
            return found, answers


@pytest.fixture
def many_pages(publish, tmp_path):
    """250 pages in the nav collection, each linking to a document, and a 404 page."""
    folder = tmp_path / "site"
    (folder / "pages").mkdir(parents=True)
    for n in range(250):
        (folder / "pages" / f"page-{n:03d}.md").write_text(
            f"---\ntitle: Page {n}\ntags: [nav]\norder: {n}\n---\n\n"
            f"[Report {n} (PDF, 1MB)](https://example.org/report-{n}.pdf)\n"
        )
    (folder / "404.md").write_text(
        "---\ntitle: Not found\npermalink: /404.html\neleventyExcludeFromCollections: true\n---\n\nGone.\n"
    )
    publish(folder)


def test_pages_documents_and_collections_page_through_every_item_exactly_once(client, many_pages):
    first = body(client.http.get("/pages"))
    assert len(first["pages"]) == 100 and first["next"]  # a client reading the first page still gets one
    pages, answers = every_page_by_cursor(client, "/pages?limit=200", "pages")
    assert answers == 2 and len(pages) == 251
    assert len({page["slug"] for page in pages}) == 251
    assert [page["listed"] for page in pages if page["path"] == "/404.html"] == [False]

    items, answers = every_page_by_cursor(client, "/collections/nav?limit=7", "items")
    assert [item["title"] for item in items] == [f"Page {n}" for n in range(250)]
    assert answers == 36
    documents, _ = every_page_by_cursor(client, "/documents", "documents")
    assert len({document["url"] for document in documents}) == len(documents) == 250


def test_a_list_answer_stays_under_1_mb_whatever_its_pages_hold(client, publish, tmp_path):
    folder = tmp_path / "large"
    (folder / "pages").mkdir(parents=True)
    for n in range(12):
        words = " ".join(f"w{n}x{m}" for m in range(25_000))  # about 250 KB of HTML each
        (folder / "pages" / f"p{n}.md").write_text(f"---\ntitle: P{n}\ntags: [big]\n---\n\n{words}\n")
    publish(folder)
    items, answers = every_page_by_cursor(client, "/collections/big?include=html&limit=200", "items")
    assert len(items) == 12 and answers > 1


def test_a_list_limit_or_cursor_out_of_range_is_a_400(client):
    # Li4u is "..." encoded: no slug.
    for url in ("/pages?limit=0", "/pages?limit=201", "/documents?limit=x", "/pages?cursor=Li4u"):
        response = client.http.get(url)
        assert response.status_code == 400, url
        assert body(response)["error"]["code"] == "bad_request"


def test_pages_of_10000_pages_come_through_the_cursor_each_exactly_once_under_1_mb(client):
    # The list's entries as publishing writes them, without rendering 10,000 pages.
    from chalicelib.json_text import dumps
    from chalicelib.tables import content_table

    entries = [
        content_table.item(
            content_table.page_summary_key(f"page-{n:05d}"),
            json=dumps(
                {"slug": f"page-{n:05d}", "path": f"/page-{n:05d}/", "title": "x" * 120, "listed": True}
            ),
        )
        for n in range(10_000)
    ]
    content_table.write_batch(entries, [])

    pages, answers = every_page_by_cursor(client, "/pages?limit=200", "pages")

    slugs = [page["slug"] for page in pages]
    assert len(slugs) == len(set(slugs)) == 10_001  # and the seed content's one page
    assert answers == 51
