"""The errors domain code raises, in plain words for the person at the other
end. They know nothing of HTTP: the web layer (web/errors.py) is the one place
that gives each kind its status code, and the CLI prints the message.

`code` is stable, for programs; `message` is for people.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class InvalidRequest(DomainError):
    """What was asked for is not valid as it stands: the message says how to
    put it right, and `details["fields"]` names each form field's problem."""

    code = "bad_request"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the state of what it names."""

    code = "conflict"


class Refused(DomainError):
    """Valid, understood, and refused: an Idempotency-Key reused for another
    request, or content that cannot be published."""

    code = "refused"


class RateLimited(DomainError):
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """AWS is throttling, slow or unreachable: try again shortly."""

    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
