"""Where errors become HTTP: each kind of domain error gets its status code
here and nowhere else, in the JSON shape {"error": {"code", "message", ...}}.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Blueprint, ChaliceUnhandledError, Response

from ..errors import Conflict, DomainError, InvalidRequest, NotFound, RateLimited, Refused, Unavailable
from ..json_text import dumps
from .media_types import JSON

_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidRequest, 400),
    (NotFound, 404),
    (Conflict, 409),
    (Refused, 422),
    (RateLimited, 429),
    (Unavailable, 503),
)


class ApiError(ChaliceUnhandledError):
    """An error the caller should see. Subclassing ChaliceUnhandledError lets
    it pass through Chalice's own view error handling to the middleware."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def to_response(self) -> Response:
        return error_response(self.status, self.code, self.message, self.headers, **self.details)


def error_response(
    status: int, code: str, message: str, headers: Mapping[str, str | list[str]] | None = None, **details: Any
) -> Response:
    body = {"error": {"code": code, "message": message, **details}}
    return Response(
        body=dumps(body),
        status_code=status,
        headers={"Content-Type": JSON, "Cache-Control": "no-store", **(headers or {})},
    )


def api_error(error: DomainError) -> ApiError:
    status = next((status for kind, status in _STATUS if isinstance(error, kind)), 500)
    headers = {}
    if isinstance(error, RateLimited | Unavailable):
        headers["Retry-After"] = str(error.retry_after)
    return ApiError(status, error.code, error.message, headers, **error.details)


def translating(view: Callable[..., Any]) -> Callable[..., Any]:
    """A view whose domain errors reach the caller as API errors."""

    @functools.wraps(view)
    def answer(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except DomainError as error:
            raise api_error(error) from None

    return answer


class ApiBlueprint(Blueprint):
    """A blueprint whose every route answers domain errors in the API's shape."""

    def route(self, path: str, **kwargs: Any) -> Callable[..., Any]:
        register = super().route(path, **kwargs)
        return lambda view: register(translating(view))
