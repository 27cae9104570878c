"""Why a submission was not taken, or cannot be acted on, in the visitor's
or the staff member's words."""

from __future__ import annotations

from ..errors import Conflict, InvalidRequest, NotFound, RateLimited, Refused, Unavailable

__all__ = [
    "AlreadyForwarded",
    "BeingSent",
    "DataRequestInvalid",
    "FormInvalid",
    "IdempotencyKeyReused",
    "NotStored",
    "RateLimited",
    "Restricted",
    "SubmissionNotFound",
    "TableUnavailable",
]

RETRY_AFTER_UNAVAILABLE = 30


class FormInvalid(InvalidRequest):
    """One plain message per field: `details["fields"]`."""

    code = "validation_error"

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("There is a problem with what was entered", fields=fields)
        self.fields = fields


class IdempotencyKeyReused(Refused):
    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key was sent before with a different request. Use a new key for each new request."
        )


class SubmissionNotFound(NotFound):
    def __init__(self, reference: str) -> None:
        super().__init__(f"There is no submission with reference {reference}.")


class AlreadyForwarded(Conflict):
    code = "already_forwarded"

    def __init__(self, reference: str) -> None:
        super().__init__(f"{reference} was forwarded already: it is not sent twice.")


class BeingSent(Conflict):
    code = "being_sent"

    def __init__(self, reference: str) -> None:
        super().__init__(f"{reference} is being sent right now: check it again in a few minutes.")


class Restricted(Conflict):
    code = "restricted"

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"{reference} is restricted at its sender's request: it is not sent until the restriction is lifted."
        )


class NotStored(Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "We could not save your request just now, so nothing has been sent. Try again in a few minutes.",
            retry_after=RETRY_AFTER_UNAVAILABLE,
        )


class TableUnavailable(Unavailable):
    def __init__(self) -> None:
        super().__init__(
            "The submissions table cannot be reached just now. Try again in a few minutes.",
            retry_after=RETRY_AFTER_UNAVAILABLE,
        )


class DataRequestInvalid(InvalidRequest):
    """A request about someone's data that names no valid address or action."""
