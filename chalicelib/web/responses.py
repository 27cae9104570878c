"""HTTP shaping shared by every route: JSON bodies, ETags, redirects, CORS."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

from chalice.app import Request, Response

from ..json_text import dumps
from ..settings import get_settings
from .errors import JSON, error_response


def query_param(request: Request, name: str) -> str | None:
    params = request.query_params
    return None if params is None else params.get(name)


def private(body: dict | list, status: int = 200) -> Response:
    """A JSON response no cache may keep: staff views and anything personal."""
    return Response(
        body=dumps(body), status_code=status, headers={"Content-Type": JSON, "Cache-Control": "no-store"}
    )


def cacheable(request: Request, body: str | dict | list, status: int = 200) -> Response:
    """A public, cacheable JSON response with a strong ETag.

    `If-None-Match` that names the current ETag gets 304 with no body.
    """
    text = body if isinstance(body, str) else dumps(body)
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'
    headers: dict[str, str | list[str]] = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={get_settings().cache_max_age}",
    }
    if _etag_matches(request.headers.get("if-none-match"), etag):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=status, headers={"Content-Type": JSON, **headers})


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = [tag.strip() for tag in if_none_match.split(",")]
    # Weak comparison, as RFC 9110 asks for If-None-Match.
    return "*" in candidates or etag in {tag.removeprefix("W/") for tag in candidates}


def content_redirect(site_path: str, status: int = 301) -> Response:
    """A redirect (301 unless the site says otherwise) to the page now at
    `site_path`, or to the full URL the site redirects to.

    Location names the API's own answer for that page, relative to this
    request's URL (so it keeps API Gateway's stage prefix): a browser's fetch
    follows it and gets the page. The body carries the page's site path.
    """
    return Response(
        body=dumps({"path": site_path}),
        status_code=status,
        headers={
            "Location": site_path if "://" in site_path else "content?path=" + quote(site_path, safe=""),
            "Content-Type": JSON,
            "Cache-Control": f"public, max-age={get_settings().cache_max_age}",
        },
    )


CORS_ALLOWED_HEADERS = "Content-Type, Idempotency-Key, If-None-Match"
CORS_EXPOSED_HEADERS = "ETag, Location, Retry-After"


def cors_headers(origin: str | None) -> dict[str, str]:
    """CORS headers for an allowed site origin; none for any other.

    Chalice's CORSConfig names a single origin, so the request's Origin is
    matched against the stage's list here. `Vary: Origin` keeps shared caches
    from serving one origin's answer to another.
    """
    headers = {"Vary": "Origin"}
    if origin and origin in get_settings().site_origins:
        headers.update(
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Expose-Headers": CORS_EXPOSED_HEADERS,
            }
        )
    return headers


def preflight(request: Request) -> Response:
    """The answer to a CORS preflight (OPTIONS) for an allowed origin."""
    origin = request.headers.get("origin")
    if not origin or origin not in get_settings().site_origins:
        return error_response(403, "origin_not_allowed", "This origin may not call the API.")
    return Response(
        body="",
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_ALLOWED_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )
