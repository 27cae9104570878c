"""The one HTTP middleware: our error shape and CORS on every public
response, and one JSON log line for every request."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from chalice.app import Request, Response

from .. import observability
from .errors import ApiError, error_response
from .responses import cors_headers

# The submission a request made or named, for its log line.
_reference: ContextVar[str | None] = ContextVar("reference", default=None)


def note_reference(reference: str) -> None:
    _reference.set(reference)


def handle(request: Request, get_response: Callable[[Request], Response]) -> Response:
    started = time.perf_counter()
    _reference.set((request.uri_params or {}).get("reference"))
    response = None
    try:
        try:
            response = get_response(request)
        except ApiError as error:
            response = error.to_response()
        response = _chalice_error_to_ours(response)
        # Staff routes are for signed requests, never for a page's scripts.
        if not _route(request).startswith("/admin"):
            for name, value in cors_headers(request.headers.get("origin")).items():
                response.headers.setdefault(name, value)
        if request.method == "HEAD":
            response.body = ""  # the headers GET would have, and no body
        return response
    finally:
        _log_request(request, response, started)


def _route(request: Request) -> str:
    """The route's template (`/admin/submissions/{reference}/retry`)."""
    return str((request.context or {}).get("resourcePath") or "")


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


def _log_request(request: Request, response: Response | None, started: float) -> None:
    """The request line: which route (its template, never the URL or query),
    the status, how long it took, and the submission reference if any."""
    context = request.context or {}
    record: dict[str, Any] = {
        "type": "request",
        "method": request.method,
        "route": _route(request) or None,
        "status": response.status_code if response is not None else 500,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        "request_id": context.get("requestId"),
    }
    reference = _reference.get()
    if reference:
        record["reference"] = reference
    observability.emit(record)
