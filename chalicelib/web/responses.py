"""HTTP shaping shared by every route: JSON bodies, ETags, redirects, CORS."""

from __future__ import annotations

import hashlib
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from chalice.app import Request, Response

from ..json_text import dumps
from ..settings import get_settings
from .errors import error_response
from .media_types import JSON


def query_param(request: Request, name: str) -> str | None:
    params = request.query_params
    return None if params is None else params.get(name)


def private(body: str | dict | list, status: int = 200) -> Response:
    """A JSON response no cache may keep: staff views and anything personal."""
    return Response(
        body=body if isinstance(body, str) else dumps(body),
        status_code=status,
        headers={"Content-Type": JSON, "Cache-Control": "no-store"},
    )


def public_cache_control() -> str:
    """How long browsers and CloudFront keep a public answer: `max-age`, then
    served stale while a fresh one is fetched (`stale-while-revalidate`) and
    while the API fails (`stale-if-error`), so readers see the last good
    page during a fault."""
    settings = get_settings()
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}, "
        f"stale-if-error={settings.cache_stale_if_error}"
    )


def cacheable(
    request: Request,
    body: str | dict | list,
    status: int = 200,
    *,
    last_modified: str | None = None,
    content_type: str = JSON,
) -> Response:
    """A public, cacheable response with a strong ETag and, when the answer
    knows when it last changed (`2026-11-26T05:45:00Z`), Last-Modified.

    `If-None-Match` that names the current ETag gets 304 with no body; without
    If-None-Match (it takes precedence, RFC 9110 13.2.2), so does
    `If-Modified-Since` at or after Last-Modified.
    """
    text = body if isinstance(body, str) else dumps(body)
    etag = '"' + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] + '"'
    headers: dict[str, str | list[str]] = {
        "ETag": etag,
        "Cache-Control": public_cache_control(),
    }
    modified = _moment(last_modified)
    if modified:
        headers["Last-Modified"] = format_datetime(modified, usegmt=True)
    if_none_match = request.headers.get("if-none-match")
    if (if_none_match and _etag_matches(if_none_match, etag)) or (
        not if_none_match and _not_modified_since(request.headers.get("if-modified-since"), modified)
    ):
        return Response(body="", status_code=304, headers=headers)
    return Response(body=text, status_code=status, headers={"Content-Type": content_type, **headers})


def _moment(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text).replace(microsecond=0) if text else None
    except ValueError:
        return None


def _not_modified_since(if_modified_since: str | None, modified: datetime | None) -> bool:
    if not if_modified_since or modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored, as RFC 9110 asks
    return since.tzinfo is not None and modified <= since


def _etag_matches(if_none_match: str, etag: str) -> bool:
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
            "Cache-Control": public_cache_control(),
        },
    )


CORS_ALLOWED_HEADERS = "Content-Type, Idempotency-Key, If-None-Match, If-Modified-Since"
CORS_EXPOSED_HEADERS = "ETag, Last-Modified, Location, Retry-After"


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
