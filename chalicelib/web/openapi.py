"""The OpenAPI 3.1 document of every public route (GET /openapi.json).

Request bodies and records are the pydantic models that validate requests
(submissions/fields.py) and build the records publishing stores
(content/read/records.py), so the document cannot drift from what the API does;
the list wrappers below follow content/read/reads.py's responses, which the
schemathesis run checks. Imported
by GET /openapi.json only: pydantic stays off every other cold start.
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from ..content.read.reads import (
    LIST_PAGE_DEFAULT,
    LIST_PAGE_MAX,
    POSTS_PAGE_DEFAULT,
    POSTS_PAGE_MAX,
    SEARCH_DEFAULT,
    SEARCH_MAX,
)
from ..content.read.records import DocumentRecord, PageRecord, PageSummary, PostRecord, PostSummary
from ..content.read.search import MAX_QUERY_LENGTH
from ..submissions.fields import AccessibleFormatRequest, EnquiryRequest
from .forms_api import FORM_CONTENT_TYPES
from .media_types import ATOM, HTML, JSON, JSON_FEED, XML

TITLE = "National Leadership Centre content and enquiries API"
VERSION = "1.0.0"


# The shapes around the records -------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]
    stage: str


NEXT = "Pass as `cursor` for the next page; null on the last"


class PageListEntry(PageSummary):
    listed: bool = Field(
        description="false for a page kept out of collections (eleventyExcludeFromCollections), "
        "like a 404 page: served at its path, in no collection, feed or search"
    )


class PageList(BaseModel):
    pages: list[PageListEntry] = Field(description="By slug")
    next: str | None = Field(description=NEXT)


class PostList(BaseModel):
    posts: list[PostSummary] = Field(description="Newest first")
    next: str | None = Field(description="Pass as `cursor` for the next, older page; null on the last")


class Collection(BaseModel):
    items: list[PageSummary | PostSummary | PageRecord | PostRecord] = Field(
        description="In menu order: `order`, then title; without `html` and `documents` "
        "unless asked for with include=html"
    )
    next: str | None = Field(description=NEXT)


class SearchResult(BaseModel):
    path: str = Field(description="The page's URL path on the site")
    title: str
    kind: Literal["page", "post"]
    snippet: str = Field(
        description="Words around the best match, HTML-escaped, each matching word in <mark>"
    )
    score: float = Field(description="BM25: higher is better")


class SearchResults(BaseModel):
    query: str
    results: list[SearchResult] = Field(description="Best first")


class JsonFeedItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    url: str
    title: str
    content_html: str


class JsonFeed(BaseModel):
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

    model_config = ConfigDict(extra="allow")

    version: Literal["https://jsonfeed.org/version/1.1"]
    title: str
    items: list[JsonFeedItem] = Field(description="The newest posts, newest first")


class DocumentList(BaseModel):
    documents: list[DocumentRecord] = Field(description="By URL")
    next: str | None = Field(description=NEXT)


class Redirect(BaseModel):
    path: str = Field(description="The page's URL path on the site now")


class Receipt(BaseModel):
    reference: str = Field(description="Quote it to the team, like NLC-7K3M-Q9TX", pattern=r"^NLC-")
    status: Literal["received"]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="Stable, for programs: not_found, validation_error, ...")
    message: str = Field(description="Plain words for the person using the site")
    fields: dict[str, str] | None = Field(None, description="For a form: each field's problem")


class Error(BaseModel):
    error: ErrorDetail


# Building blocks -----------------------------------------------------------------


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model: type[BaseModel], description: str, headers: dict | None = None) -> dict:
    response: dict[str, Any] = {"description": description, "content": {JSON: {"schema": _ref(model)}}}
    if headers:
        response["headers"] = headers
    return response


def _header(description: str) -> dict:
    return {"description": description, "schema": {"type": "string"}}


_CACHE_HEADERS = {
    "ETag": _header("Changes whenever the body does: send it back in If-None-Match"),
    "Cache-Control": _header(
        "How long the answer may be kept (max-age), and served stale while a fresh one is "
        "fetched (stale-while-revalidate) or while the API fails (stale-if-error)"
    ),
}
_CONTENT_HEADERS = {
    **_CACHE_HEADERS,
    "Last-Modified": _header("When this answer last changed: send it back in If-Modified-Since"),
}


def _paging(what: str, default: int, most: int) -> tuple[dict, dict]:
    """A list's `limit` and `cursor`."""
    return (
        _parameter(
            "limit",
            "query",
            f"How many {what}",
            {"type": "integer", "minimum": 1, "maximum": most, "default": default},
        ),
        _parameter("cursor", "query", "`next` from the page before"),
    )


def _parameter(
    name: str, where: str, description: str, schema: dict | None = None, required: bool = False
) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "description": description,
        "schema": schema or {"type": "string"},
    }


_IF_NONE_MATCH = _parameter(
    "If-None-Match", "header", "An ETag from an earlier answer: 304 with no body if nothing changed"
)
_IF_MODIFIED_SINCE = _parameter(
    "If-Modified-Since",
    "header",
    "A Last-Modified from an earlier answer: 304 with no body if nothing changed since "
    "(If-None-Match, when sent, decides instead)",
)
_ERROR = {
    400: "The request is not valid; the message says how to put it right",
    403: "This origin may not call the API",
    404: "There is nothing there",
    413: "The request is too large",
    415: "Send JSON or a form",
    422: "This Idempotency-Key was used before with a different form",
    429: "Too many requests from one visitor: wait for Retry-After seconds",
    503: "Storage is unavailable for a moment: try again after Retry-After seconds",
}


def _errors(*statuses: int, html: bool = False) -> dict:
    responses = {}
    for status in statuses:
        content: dict[str, Any] = {JSON: {"schema": _ref(Error)}}
        if html:
            # A form posted by a browser without JavaScript gets a page to read.
            content[HTML] = {"schema": {"type": "string"}}
        responses[str(status)] = {"description": _ERROR[status], "content": content}
        if status in (429, 503):
            responses[str(status)]["headers"] = {"Retry-After": _header("Seconds to wait")}
    return responses


def _read(
    summary: str,
    model: type[BaseModel] | dict,
    *errors: int,
    parameters: tuple = (),
    extra: dict | None = None,
) -> dict:
    """A cacheable GET: 200 with an ETag and Last-Modified, or 304. `model`
    is the JSON body's model, or the 200 response itself."""
    found = _json(model, "Found", _CONTENT_HEADERS) if isinstance(model, type) else model
    return {
        "get": {
            "summary": summary,
            "parameters": [*parameters, _IF_NONE_MATCH, _IF_MODIFIED_SINCE],
            "responses": {
                "200": found,
                "304": {
                    "description": "Not modified since the ETag in If-None-Match or the time in If-Modified-Since",
                    "headers": _CONTENT_HEADERS,
                },
                **(extra or {}),
                **_errors(*errors, 503),
            },
        }
    }


def _text_read(summary: str, media_type: str, description: str) -> dict:
    """A cacheable GET of a document in another format than JSON."""
    found = {
        "description": description,
        "headers": _CONTENT_HEADERS,
        "content": {media_type: {"schema": {"type": "string"}}},
    }
    return _read(summary, found, 404)


def _form(summary: str, model: type[BaseModel]) -> dict:
    """A form the site posts, as JSON from its scripts or as a plain form."""
    return {
        "post": {
            "summary": summary,
            "description": model.__doc__,
            "parameters": [
                _parameter(
                    "Idempotency-Key",
                    "header",
                    "Send the same key when retrying a post, so it is stored and sent once",
                    {"type": "string", "pattern": r"^[\x21-\x7e]{1,255}$"},
                )
            ],
            # Form posts take the same fields; a field the form does not have
            # is dropped from them, and refused in JSON.
            "requestBody": {
                "required": True,
                "content": {media_type: {"schema": _ref(model)} for media_type in FORM_CONTENT_TYPES},
            },
            "responses": {
                "202": _json(Receipt, "Stored; it is forwarded to the team and acknowledged by email"),
                "303": {
                    "description": "Stored (a form posted by a browser): on to the confirmation page",
                    "headers": {"Location": _header("The confirmation page, with ?reference=")},
                },
                **_errors(400, 403, 413, 415, 422, 429, 503, html=True),
            },
        },
        "options": _preflight(),
    }


def _preflight() -> dict:
    return {
        "summary": "CORS preflight for the site's origins",
        "parameters": [_parameter("Origin", "header", "The site's origin, as browsers send it")],
        "responses": {"204": {"description": "This origin may post"}, **_errors(403)},
    }


def _paths() -> dict:
    slug = _parameter("slug", "path", "The page's or post's name, from its file name")
    return {
        "/health": {
            "get": {
                "summary": "Whether the API is up, and its stage",
                "parameters": [_IF_NONE_MATCH],
                "responses": {
                    "200": _json(Health, "Up", _CACHE_HEADERS),
                    "304": {"description": "Not modified", "headers": _CACHE_HEADERS},
                },
            }
        },
        "/content": _read(
            "The page or post at a URL path of the site",
            PageRecord,
            400,
            404,
            parameters=(_parameter("path", "query", "The URL path, like /what-we-do/", required=True),),
            extra={
                "301": _json(
                    Redirect,
                    "The page moved",
                    {
                        "Location": _header(
                            "This route for the new path, relative to the request: content?path=..."
                        )
                    },
                ),
            },
        ),
        "/pages": _read(
            "Every page the site serves, without its HTML, a page at a time",
            PageList,
            400,
            parameters=_paging("pages", LIST_PAGE_DEFAULT, LIST_PAGE_MAX),
        ),
        "/pages/{slug}": _read("A page, in full", PageRecord, 404, parameters=(slug,)),
        "/collections/{tag}": _read(
            "Every page and post with a tag, in menu order",
            Collection,
            400,
            404,
            parameters=(
                _parameter("tag", "path", "A tag from the front matter, like nav"),
                _parameter(
                    "include",
                    "query",
                    "`html` for each item in full, with its html and documents",
                    {"type": "string", "enum": ["html"]},
                ),
                *_paging("items", LIST_PAGE_DEFAULT, LIST_PAGE_MAX),
            ),
        ),
        "/posts": _read(
            "Blog posts, newest first, a page at a time",
            PostList,
            400,
            parameters=_paging("posts", POSTS_PAGE_DEFAULT, POSTS_PAGE_MAX),
        ),
        "/posts/{slug}": _read("A blog post, in full", PostRecord, 404, parameters=(slug,)),
        "/documents": _read(
            "Every document the pages link to, and the pages that link to it, a page at a time",
            DocumentList,
            400,
            parameters=_paging("documents", LIST_PAGE_DEFAULT, LIST_PAGE_MAX),
        ),
        "/search": _read(
            "The public pages and posts matching some words, best first",
            SearchResults,
            400,
            parameters=(
                _parameter(
                    "q",
                    "query",
                    "The words to look for",
                    {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH, "pattern": r"\S"},
                    required=True,
                ),
                _parameter(
                    "limit",
                    "query",
                    "How many results",
                    {"type": "integer", "minimum": 1, "maximum": SEARCH_MAX, "default": SEARCH_DEFAULT},
                ),
            ),
        ),
        "/feed.xml": _text_read(
            "The blog's newest posts as an Atom 1.0 feed", ATOM, "Atom 1.0, with absolute links"
        ),
        "/feed.json": _read(
            "The blog's newest posts as a JSON Feed 1.1",
            _json(JsonFeed, "JSON Feed 1.1, with absolute links", _CONTENT_HEADERS)
            | {"content": {JSON_FEED: {"schema": _ref(JsonFeed)}}},
            404,
        ),
        "/sitemap.xml": _text_read(
            "Every public page and post with a URL, for search engines", XML, "A sitemap (sitemaps.org 0.9)"
        ),
        "/enquiries": _form("Send an enquiry to the team", EnquiryRequest),
        "/accessible-format-requests": _form(
            "Ask for a document or page in an accessible format", AccessibleFormatRequest
        ),
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "parameters": [_IF_NONE_MATCH],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.1",
                        "headers": _CACHE_HEADERS,
                        "content": {JSON: {"schema": {"type": "object"}}},
                    },
                    "304": {"description": "Not modified", "headers": _CACHE_HEADERS},
                },
            }
        },
    }


RESPONSE_MODELS = (
    Health, PageList, PageListEntry, PageSummary, PageRecord, PostList, PostSummary, PostRecord,
    Collection, DocumentList, DocumentRecord, Redirect, Receipt, Error, SearchResults, JsonFeed,
)  # fmt: skip
REQUEST_MODELS = (EnquiryRequest, AccessibleFormatRequest)


def _with_head(paths: dict) -> dict:
    """Every GET answers HEAD too: the same status and headers, no body."""
    for operations in paths.values():
        if "get" in operations:
            get = operations["get"]
            operations["head"] = {
                "summary": f"{get['summary']}: the headers only",
                "parameters": get["parameters"],
                "responses": {
                    status: {key: value for key, value in answer.items() if key != "content"}
                    for status, answer in get["responses"].items()
                },
            }
    return paths


@functools.cache
def document() -> dict:
    _, schemas = models_json_schema(
        [(model, "serialization") for model in RESPONSE_MODELS]
        + [(model, "validation") for model in REQUEST_MODELS],
        ref_template="#/components/schemas/{model}",
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": "Content published from the National Leadership Centre site's Markdown, "
            "and its enquiry and accessible-format request forms. Errors are "
            '{"error": {"code", "message"}}; every GET answers with an ETag, and every content answer '
            "with Last-Modified.",
        },
        # Relative: the API's address, wherever this document is served from.
        "servers": [{"url": "."}],
        "paths": _with_head(_paths()),
        "components": {"schemas": schemas["$defs"]},
    }
