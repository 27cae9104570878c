"""HTTP shaping shared by every route: JSON bodies, errors, ETags, CORS."""
from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Callable
from urllib.parse import quote

from chalice.app import ChaliceUnhandledError, Request, Response

from . import observability
from .settings import get_settings

JSON = "application/json"


class ApiError(ChaliceUnhandledError):
    """An error the caller should see, as {"error": {"code", "message", ...}}.

    Subclassing ChaliceUnhandledError lets it pass through Chalice's own view
    error handling to `handle`, which turns it into our JSON shape.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def to_response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers, **self.details)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "bad_request", message, **details)


RETRY_AFTER_SECONDS = 5


def service_unavailable(message: str | None = None, retry_after: int = RETRY_AFTER_SECONDS) -> ApiError:
    """AWS is throttling or unreachable: ask the caller to come back shortly."""
    return ApiError(
        503,
        "service_unavailable",
        message or f"The service is busy. Try again in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
    )


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
) -> Response:
    body = {"error": {"code": code, "message": message, **details}}
    return Response(
        body=json.dumps(body),
        status_code=status,
        headers={"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})},
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


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
    headers = {
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


def content_redirect(site_path: str) -> Response:
    """A permanent redirect to the page now at `site_path`.

    Location names the API's own answer for that page, relative to this
    request's URL (so it keeps API Gateway's stage prefix): a browser's fetch
    follows it and gets the page. The body carries the page's site path.
    """
    return Response(
        body=dumps({"path": site_path}),
        status_code=301,
        headers={
            "Location": "content?path=" + quote(site_path, safe=""),
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


def _chalice_error_to_ours(response: Response) -> Response:
    """Reshape Chalice's own errors ({"Code", "Message"}) into ours."""
    body = response.body
    if isinstance(body, dict) and "Code" in body and "Message" in body:
        if response.status_code >= 500:
            # Never a stack trace or internal detail.
            return error_response(
                response.status_code, "internal_error", "Something went wrong. Try again later."
            )
        code = {405: "method_not_allowed", 415: "unsupported_media_type"}.get(
            response.status_code, "bad_request"
        )
        return error_response(response.status_code, code, str(body["Message"]), response.headers)
    return response


def handle(request: Request, get_response: Callable[[Request], Response]) -> Response:
    """The HTTP middleware: our error shape and CORS on every response, and
    one log line for every request."""
    started = time.perf_counter()
    response = None
    try:
        try:
            response = get_response(request)
        except ApiError as error:
            response = error.to_response()
        response = _chalice_error_to_ours(response)
        for name, value in cors_headers(request.headers.get("origin")).items():
            response.headers.setdefault(name, value)
        return response
    finally:
        observability.log_request(request, response, started)
