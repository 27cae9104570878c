"""GET /search: the public pages and posts, ranked by BM25 with the title
above the body, through the HTTP API against moto; and the index itself."""

from __future__ import annotations

import random

import pytest
from conftest import body

from chalicelib.content.eleventy.limits import MAX_RECORD_BYTES
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


@pytest.fixture
def cold():
    """A process that has read nothing of the index yet."""
    from chalicelib.content.read import search_store

    search_store.forget()
    return search_store.forget


def test_a_search_costs_two_reads_cold_and_one_warm(client, published, aws_calls, cold):
    aws_calls.clear()
    first = client.http.get("/search?q=leadership%20taskforce")
    assert first.status_code == 200 and body(first)["results"]
    assert aws_calls == [("DynamoDB", "BatchGetItem"), ("DynamoDB", "BatchGetItem")]

    aws_calls.clear()
    again = client.http.get("/search?q=leadership%20taskforce")
    assert body(again) == body(first)
    assert aws_calls == [("DynamoDB", "GetItem")]
    # Another query, whose words' shards and hits' texts are not yet read: still at most two.
    aws_calls.clear()
    assert results(client, "mentoring")
    assert len(aws_calls) <= 2


def test_a_page_the_last_publish_removed_is_never_found(client, publish, published, cold):
    assert results(client, "mentoring")  # read, and kept in the warm process
    (published / "pages" / "mentoring.md").unlink()
    (published / "posts" / "2024-05-01-mentoring-resilience.md").unlink()
    publish(published)
    assert results(client, "mentoring") == []  # warm
    cold()
    assert results(client, "mentoring") == []


def test_a_query_racing_a_publish_answers_from_one_release(client, publish, published, monkeypatch, cold):
    from chalicelib.tables import content_table

    before = [result["path"] for result in results(client, "mentoring")]
    assert "/pages/mentoring/" in before
    cold()
    read = content_table.get_many
    reads = []

    def read_then_publish(keys):
        found = read(keys)
        reads.append(keys)
        if len(reads) == 1:
            # Between the query's read of the words' shards and of its hits'
            # texts, a publish removes a page and rewrites the shards.
            (published / "pages" / "mentoring.md").unlink()
            publish(published)
        return found

    monkeypatch.setattr(content_table, "get_many", read_then_publish)
    found = [result["path"] for result in results(client, "mentoring")]
    monkeypatch.setattr(content_table, "get_many", read)
    cold()
    after = [result["path"] for result in results(client, "mentoring")]
    assert "/pages/mentoring/" not in after
    assert found == after  # the new release's answer, not a mix of the two
    assert len(reads) > 2  # it read again when it met the replaced shards


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


def answer(built: search.Built, query: str, limit: int = 10) -> list[dict]:
    """A search of an index built in-process, as the reader makes it."""
    shards = {shard.digest: search.load(shard.body) for shard in built.shards}
    wanted = search.query_terms(query)
    return search.results(built.header, search.rank(built.header, shards, wanted, limit), shards, wanted)


def test_common_words_alone_find_nothing():
    assert answer(search.build(documents("the and of")), "the of") == []


def test_a_word_only_the_last_of_10000_pages_holds_finds_it_first_with_its_snippet():
    rng = random.Random(22)
    vocabulary = [f"w{n}" for n in range(5000)]
    texts = [" ".join(rng.choices(vocabulary, k=300)) for _ in range(9999)]
    texts.append(
        " ".join(rng.choices(vocabulary, k=150)) + " quixotic " + " ".join(rng.choices(vocabulary, k=150))
    )
    built = search.build(documents(*texts))

    assert built.header["documents"] == 10_000
    assert search.shard_problems(built, MAX_RECORD_BYTES) == []
    assert max(len(shard.body) for shard in built.shards) < MAX_RECORD_BYTES // 2
    found = answer(built, "quixotic")
    assert [result["path"] for result in found] == ["/9999/"]
    assert "<mark>quixotic</mark>" in found[0]["snippet"]
    # Every result carries its snippet, whatever the site's size.
    common = answer(built, "w1 w2", 50)
    assert len(common) == 50 and all("<mark>" in result["snippet"] for result in common)


def test_a_shard_too_large_for_a_record_is_named():
    built = search.build(documents(" ".join(f"word{n}" for n in range(20_000))))
    problems = search.shard_problems(built, 10_000)
    assert problems and any("d0" in problem for problem in problems)


def test_a_changed_page_changes_only_the_shards_of_its_changed_words():
    texts = [f"alpha beta gamma page{n}" for n in range(200)]
    first = search.build(documents(*texts))
    texts[7] = texts[7] + " delta"
    second = search.build(documents(*texts))
    changed = {shard.name for shard in second.shards} - {
        shard.name for shard in second.shards if shard.digest in {old.digest for old in first.shards}
    }
    # Its length changed, so every posting of it: the shards of its words, and its text's.
    words = search.terms(f"Title 7 {texts[7]}")
    assert changed == {search.term_shard(term) for term in words} | {"d0"}
    assert len(changed) < len(second.shards) / 2


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


def test_a_derived_record_too_large_is_refused_before_the_table_changes(
    client, publish, published, monkeypatch
):
    from chalicelib.content.publishing import derived
    from nlc_tools.cli import CommandError

    before = results(client, "mentoring")
    (published / "pages" / "mentoring.md").unlink()
    monkeypatch.setattr(derived, "MAX_RECORD_BYTES", 1000)
    with pytest.raises(CommandError) as refused:
        publish(published)
    assert "too large; nothing was published" in str(refused.value)
    assert "error: the site: the search index's shard d0 (text of the pages it holds) would be" in (
        refused.value.output
    )
    assert results(client, "mentoring") == before
    assert client.http.get("/pages/mentoring").status_code == 200


def test_an_unchanged_republish_builds_no_index_and_writes_nothing(
    publish, published, monkeypatch, aws_calls
):
    def never(documents):
        raise AssertionError("the index was built again")

    monkeypatch.setattr(search, "build", never)
    aws_calls.clear()
    output = publish(published)
    assert "0 created, 0 updated, 0 deleted" in output
    assert ("DynamoDB", "BatchWriteItem") not in aws_calls


def test_a_warm_process_keeps_a_bounded_number_of_shards(client, published, cold, monkeypatch):
    from chalicelib.content.read import search_store

    monkeypatch.setattr(search_store, "MAX_CACHED_SHARDS", 3)
    for word in ("leader", "mentoring", "purpose", "taskforce", "resilience", "programme"):
        assert results(client, word)
        assert search_store.cached_shards() <= 3
