"""One route table: the app's own routes. What a publish invalidates and
which routes CloudFront forwards as forms are checked against it, so a new
content route cannot be cached and never invalidated, nor a new form be
cached and stripped of the headers it reads."""

from __future__ import annotations

import re

from app import app
from chalicelib.content.publishing import invalidation
from chalicelib.tables import content_table
from nlc_tools.resources import API_DISTRIBUTION


def public_routes(method: str) -> set[str]:
    """The routes anyone may call with `method` (staff routes are signed and
    not served through CloudFront)."""
    return {
        path
        for path, methods in app.routes.items()
        if method in methods and methods[method].authorizer is None
    }


def test_every_cached_route_is_invalidated_by_a_publish_or_never_changed_by_one():
    listed = set(invalidation.ROUTE_PATHS) | set(invalidation.UNCHANGED_BY_PUBLISH)
    assert public_routes("GET") == listed
    assert not set(invalidation.ROUTE_PATHS) & set(invalidation.UNCHANGED_BY_PUBLISH)


def test_each_invalidation_path_is_of_its_own_route():
    for route, paths in invalidation.ROUTE_PATHS.items():
        for path in paths:
            assert path == route or path.startswith((route + "?", route + "*")), (route, path)


def test_every_record_a_publish_writes_invalidates_a_cached_route():
    keys = [
        content_table.path_key("/about/"),
        content_table.REDIRECT_PREFIXES,
        content_table.page_key("about"),
        content_table.post_key("news"),
        content_table.collection_key("nav", "0001"),
        *(content_table.list_marker_key(name) for name in (content_table.PAGES, content_table.POSTS)),
        content_table.list_marker_key(content_table.DOCUMENTS),
        *(
            content_table.derived_key(name)
            for name in (
                content_table.SEARCH_INDEX,
                content_table.ATOM_FEED,
                content_table.JSON_FEED,
                content_table.SITEMAP,
            )
        ),
    ]
    routes = {invalidation.route_of(*record) for key in keys if (record := content_table.record_of(key))}
    assert routes == set(invalidation.ROUTE_PATHS)


def test_every_form_route_has_its_cloudfront_behaviour():
    assert set(API_DISTRIBUTION.form_routes) == public_routes("POST")


def test_a_route_parameter_never_widens_an_invalidation():
    assert invalidation.answers("page", "a*b") == ("/pages/a%2Ab",)
    assert not any(re.search(r"\{\w+\}", path) for path in invalidation.answers("collection", "x"))
