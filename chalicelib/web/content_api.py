"""The public content routes: every answer cacheable, with an ETag. The
content modules are small and boto3-free at import; pydantic stays off the
read path, so cold starts stay at the floor. Each route imports the reads
(and with them the content table) itself, so that a form post's cold start
does not."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from chalice.app import Response

from .errors import ApiBlueprint
from .media_types import ATOM, JSON, JSON_FEED, XML
from .responses import cacheable, content_redirect, query_param

if TYPE_CHECKING:
    from ..content.read.reads import Found

content_api = ApiBlueprint(__name__)


def _query(name: str) -> str | None:
    return query_param(content_api.current_request, name)


def _cacheable(body: str | dict) -> Response:
    return cacheable(content_api.current_request, body)


def _read(path: str) -> Callable[..., Any]:
    """A read route, answering HEAD as GET (the middleware drops the body):
    API Gateway answers only the methods a route declares."""
    return content_api.route(path, methods=["GET", "HEAD"])


def _reads() -> ModuleType:
    """The content reads, imported by a content route's first request."""
    from ..content.read import reads

    return reads


def _answer(found: Found, content_type: str = JSON) -> Response:
    return cacheable(
        content_api.current_request, found.json, last_modified=found.modified, content_type=content_type
    )


@_read("/health")
def health() -> Response:
    return _cacheable(_reads().health())


@_read("/content")
def get_content() -> Response:
    found = _reads().page_at_path(_query("path"))
    if found.redirect_to:
        return content_redirect(found.redirect_to, found.status)
    return _answer(found)


@_read("/pages")
def list_pages() -> Response:
    return _answer(_reads().list_pages(_query("limit"), _query("cursor")))


@_read("/pages/{slug}")
def get_page(slug: str) -> Response:
    return _answer(_reads().page(slug))


@_read("/collections/{tag}")
def get_collection(tag: str) -> Response:
    return _answer(_reads().collection(tag, _query("include"), _query("limit"), _query("cursor")))


@_read("/posts")
def list_posts() -> Response:
    return _answer(_reads().list_posts(_query("limit"), _query("cursor")))


@_read("/posts/{slug}")
def get_post(slug: str) -> Response:
    return _answer(_reads().post(slug))


@_read("/documents")
def list_documents() -> Response:
    return _answer(_reads().list_documents(_query("limit"), _query("cursor")))


@_read("/search")
def search() -> Response:
    return _answer(_reads().search(_query("q"), _query("limit")))


@_read("/feed.xml")
def atom_feed() -> Response:
    return _answer(_reads().atom_feed(), ATOM)


@_read("/feed.json")
def json_feed() -> Response:
    return _answer(_reads().json_feed(), JSON_FEED)


@_read("/sitemap.xml")
def sitemap() -> Response:
    return _answer(_reads().sitemap(), XML)


@_read("/openapi.json")
def openapi_document() -> Response:
    from . import openapi

    return _cacheable(openapi.document())
