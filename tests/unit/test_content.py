"""URL paths, heading anchors and the documents a page links to: pure code,
no AWS."""

from __future__ import annotations

import pytest

from chalicelib.content.eleventy.documents import find_documents
from chalicelib.content.eleventy.engines import anchor_slug
from chalicelib.content.read.paths import InvalidPath, is_slug, normalise_path


@pytest.mark.parametrize(
    "raw, served",
    [
        ("/what-we-do/", "/what-we-do/"),
        ("/what-we-do", "/what-we-do/"),
        ("/what-we-do/index.html", "/what-we-do/"),
        ("/", "/"),
        ("/index.html", "/"),
        ("  /what-we-do  ", "/what-we-do/"),
        ("/what-we-do/?utm_source=mail#top", "/what-we-do/"),
        ("/what-we-do#top", "/what-we-do/"),
        ("%2Fwhat-we-do%2F", "/what-we-do/"),
        ("/what%20we%20do", "/what we do/"),
        ("/files/report.pdf", "/files/report.pdf"),
        ("/a/b/c", "/a/b/c/"),
    ],
)
def test_every_form_of_a_path_becomes_the_one_the_site_serves(raw, served):
    assert normalise_path(raw) == served


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "Give the page's URL path, like ?path=/what-we-do/"),
        ("", "Give the page's URL path, like ?path=/what-we-do/"),
        ("   ", "Give the page's URL path, like ?path=/what-we-do/"),
        ("what-we-do", "The path must start with a single /, like /what-we-do/"),
        ("//example.com/what-we-do", "The path must start with a single /, like /what-we-do/"),
        ("https://example.com/", "The path must start with a single /, like /what-we-do/"),
        ("/a/../b", "The path must not contain . or .. segments."),
        ("/a/./b", "The path must not contain . or .. segments."),
        ("/a/%2e%2e/b", "The path must not contain . or .. segments."),
        ("/..", "The path must not contain . or .. segments."),
        ("/a\x00b", "That path is not a valid URL path."),
        ("/a%0Ab", "That path is not a valid URL path."),
        ("/a\x7f", "That path is not a valid URL path."),
        ("/" + "a" * 1024, "That path is not a valid URL path."),
    ],
)
def test_a_path_the_site_could_not_serve_is_refused_saying_why(raw, message):
    with pytest.raises(InvalidPath) as refused:
        normalise_path(raw)
    assert str(refused.value) == message


def test_the_longest_path_allowed_is_1024_characters():
    longest = "/" + "a" * 1022 + "/"
    assert normalise_path(longest) == longest


@pytest.mark.parametrize(
    "value, valid",
    [
        ("what-we-do", True),
        ("2019-08-28-a-post", True),
        ("v1.2_final~x", True),
        ("a" * 200, True),
        ("a" * 201, False),
        ("-leading-hyphen", False),
        (".hidden", False),
        ("two words", False),
        ("a/b", False),
        ("", False),
    ],
)
def test_a_slug_is_up_to_200_url_safe_characters_starting_with_a_letter_or_digit(value, valid):
    assert is_slug(value) is valid


@pytest.mark.parametrize(
    "title, slug",
    [
        ("Why were we set up?", "why-were-we-set-up%3F"),
        ("  Our   Work \t Today ", "our-work-today"),
        ("Café and Ŵyn", "caf%C3%A9-and-%C5%B5yn"),
        ("It's (nearly) done!", "it's-(nearly)-done!"),
        ("a/b & c", "a%2Fb-%26-c"),
        ("snake_case.and~tilde*", "snake_case.and~tilde*"),
    ],
)
def test_a_heading_anchor_is_the_encoded_lower_cased_title_with_hyphens(title, slug):
    assert anchor_slug(title) == slug


def document(url, title, type, size=None, pages=None):
    return {"url": url, "title": title, "type": type, "size": size, "pages": pages}


def test_the_type_size_and_pages_in_a_links_text_are_read_and_left_out_of_its_title():
    html = '<p><a href="/files/report.pdf">Annual report (PDF, 1010KB, 52 pages)</a></p>'
    assert find_documents(html) == [document("/files/report.pdf", "Annual report", "PDF", "1010KB", 52)]


def test_details_just_after_the_link_count_but_not_from_the_next_paragraph():
    html = (
        '<p><a href="https://example.com/form.docx">Application form</a> (docx, 20 KB, 1 page)</p>'
        '<p><a href="/data.csv">The data</a></p><p>PDF, 5MB</p>'
    )
    assert find_documents(html) == [
        document("https://example.com/form.docx", "Application form", "DOCX", "20KB", 1),
        document("/data.csv", "The data", "CSV"),
    ]


def test_only_links_to_files_are_documents_each_listed_once():
    html = (
        '<a href="/what-we-do/">What we do</a>'
        '<a href="/files/plan.xlsx?version=2">Plan</a>'
        '<a href="/files/plan.xlsx?version=2">The plan again</a>'
        '<a href="mailto:nlc@example.gov.uk">Email us</a>'
        "<a>No address</a>"
    )
    assert find_documents(html) == [document("/files/plan.xlsx?version=2", "Plan", "XLSX")]


def test_a_link_with_no_text_is_titled_by_its_file_name():
    html = '<a href="/files/strategy-2024.pdf"><img src="cover.png"></a>'
    assert find_documents(html) == [document("/files/strategy-2024.pdf", "strategy-2024.pdf", "PDF")]


def test_a_page_without_document_links_has_no_documents():
    assert find_documents("<h1>Hello</h1><p>No links here.</p>") == []
