"""GET /search: the public pages and posts, ranked by BM25 with the title
above the body, through the HTTP API against moto; and the index itself."""

from __future__ import annotations

import pytest
from conftest import body

from chalicelib.content.read import search

SEED_PAGE = "/what-we-do/"
PAST_POST = "/posts/2024-05-01-mentoring-resilience/"


@pytest.fixture
def published(publish, reader_content):
    publish(reader_content)
    return reader_content


def results(client, query: str) -> list[dict]:
    response = client.http.get(f"/search?q={query}")
    assert response.status_code == 200, response.body
    return body(response)["results"]


def test_a_word_of_the_seed_page_finds_it_first_with_the_word_marked(client, published):
    response = client.http.get("/search?q=purpose")

    assert response.status_code == 200
    answer = body(response)
    assert answer["query"] == "purpose"
    first = answer["results"][0]
    assert (first["path"], first["title"], first["kind"]) == (SEED_PAGE, "What We Do", "page")
    assert "unique <mark>purpose</mark> is to support" in first["snippet"]
    assert first["score"] > 0


def test_words_are_stemmed_so_leader_finds_leaders(client, published):
    found = results(client, "leader")
    assert SEED_PAGE in [result["path"] for result in found]
    seed = next(result for result in found if result["path"] == SEED_PAGE)
    assert "<mark>leaders</mark>" in seed["snippet"]


def test_a_two_word_search_ranks_the_post_holding_both_first(client, published):
    found = results(client, "mentoring%20resilience")
    assert [result["path"] for result in found][:2] == [PAST_POST, "/pages/mentoring/"]
    assert found[0]["kind"] == "post"
    assert found[0]["title"] == "Leaders & their networks"
    assert "<mark>mentoring</mark> builds <mark>resilience</mark>" in found[0]["snippet"]


def test_the_title_counts_above_the_body(client, published):
    # "programme" is the title of /pages/mentoring/ and in the seed page's body.
    assert results(client, "programme")[0]["path"] == "/pages/mentoring/"


def test_drafts_and_scheduled_posts_are_never_found(client, published):
    assert results(client, "zephyrine") == []
    assert results(client, "quokkas") == []
    assert results(client, "vision") == []


def test_a_missing_or_blank_query_is_a_400(client, published):
    for url in ("/search", "/search?q=", "/search?q=%20%20"):
        response = client.http.get(url)
        assert response.status_code == 400, url
        assert body(response)["error"]["code"] == "bad_request"
    assert client.http.get("/search?q=leader&limit=0").status_code == 400
    assert client.http.get("/search?q=" + "a" * 201).status_code == 400


def test_limit_caps_the_results(client, published):
    assert len(body(client.http.get("/search?q=leaders&limit=1"))["results"]) == 1


def test_a_search_costs_one_getitem(client, published, aws_calls):
    aws_calls.clear()
    response = client.http.get("/search?q=leadership%20taskforce")
    assert response.status_code == 200
    assert aws_calls == [("DynamoDB", "GetItem")]


def test_a_page_the_last_publish_removed_is_never_found(client, publish, published):
    assert results(client, "mentoring")
    (published / "pages" / "mentoring.md").unlink()
    (published / "posts" / "2024-05-01-mentoring-resilience.md").unlink()
    publish(published)
    assert results(client, "mentoring") == []


def test_before_any_publish_a_search_finds_nothing(client):
    assert results(client, "leader") == []


def test_search_answers_carry_last_modified_and_an_etag(client, published):
    response = client.http.get("/search?q=leader")
    assert response.headers["ETag"] and response.headers["Last-Modified"].endswith(" GMT")


# The index, without AWS ----------------------------------------------------------------


def documents(*texts: str) -> list[search.Document]:
    return [search.Document(f"/{n}/", f"Title {n}", "page", text) for n, text in enumerate(texts)]


def test_snippets_escape_html_and_mark_only_matching_words():
    text = "Fish & chips <script>alert(1)</script> for leaders, said the leader."
    assert search.snippet(text, {"leader"}) == (
        "Fish &amp; chips &lt;script&gt;alert(1)&lt;/script&gt; for <mark>leaders</mark>, "
        "said the <mark>leader</mark>"
    )


def test_a_snippet_is_a_window_around_the_best_match():
    words = " ".join(f"w{n}" for n in range(100))
    text = f"{words} resilience and mentoring {words}"
    found = search.snippet(text, {"resili", "mentor"})
    assert found.startswith("…") and found.endswith("…")
    assert "<mark>resilience</mark> and <mark>mentoring</mark>" in found
    assert len(found.split()) <= search.SNIPPET_WORDS + 2


def test_common_words_alone_find_nothing():
    index = search.load(search.build(documents("the and of"), 10_000).body)
    assert search.search(index, "the of", 10) == []


def test_an_index_too_large_for_one_record_trims_snippet_text_then_pages():
    texts = [" ".join(f"word{n}x{m}" for m in range(400)) for n in range(40)]
    full = search.build(documents(*texts), 10**9)
    assert full.text_limit is None and full.documents == 40

    trimmed = search.build(documents(*texts), len(full.body) // 2)
    assert trimmed.documents == 40 and trimmed.text_limit is not None
    assert len(trimmed.body) <= len(full.body) // 2

    cut = search.build(documents(*texts), 20_000)
    assert 0 < cut.documents < 40 and len(cut.body) <= 20_000
    # What is kept is still searchable: the first pages.
    index = search.load(cut.body)
    assert search.search(index, "word0x399", 5)[0]["path"] == "/0/"


def test_html_is_read_as_text_with_inline_markup_joined():
    html = (
        '<p>The <a href="/x">Taskforce</a>.</p><script>var hidden;</script><ul><li>One</li><li>Two</li></ul>'
    )
    assert search.plain_text(html) == "The Taskforce. One Two"


def test_the_seed_content_alone_is_found(publish, client):
    publish()
    assert {result["path"] for result in results(client, "taskforce")} == {
        SEED_PAGE,
        "/blog/what-is-the-national-leadership-centre/",
    }
