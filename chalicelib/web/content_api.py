"""The public content routes: every answer cacheable, with an ETag. The
content modules are small and boto3-free at import; pydantic stays off the
read path, so cold starts stay at the floor."""

from __future__ import annotations

from chalice.app import Response

from ..content import reads
from .errors import ApiBlueprint
from .responses import cacheable, content_redirect, query_param

content_api = ApiBlueprint(__name__)


def _query(name: str) -> str | None:
    return query_param(content_api.current_request, name)


def _cacheable(body: str | dict) -> Response:
    return cacheable(content_api.current_request, body)


@content_api.route("/health")
def health() -> Response:
    return _cacheable(reads.health())


@content_api.route("/content")
def get_content() -> Response:
    found = reads.page_at_path(_query("path"))
    if found.redirect_to:
        return content_redirect(found.redirect_to, found.status)
    return _cacheable(found.json)


@content_api.route("/pages")
def list_pages() -> Response:
    return _cacheable(reads.list_pages())


@content_api.route("/pages/{slug}")
def get_page(slug: str) -> Response:
    return _cacheable(reads.page(slug))


@content_api.route("/collections/{tag}")
def get_collection(tag: str) -> Response:
    return _cacheable(reads.collection(tag))


@content_api.route("/posts")
def list_posts() -> Response:
    return _cacheable(reads.list_posts(_query("limit"), _query("cursor")))


@content_api.route("/posts/{slug}")
def get_post(slug: str) -> Response:
    return _cacheable(reads.post(slug))


@content_api.route("/documents")
def list_documents() -> Response:
    return _cacheable(reads.list_documents())


@content_api.route("/openapi.json")
def openapi_document() -> Response:
    from . import openapi

    return _cacheable(openapi.document())
