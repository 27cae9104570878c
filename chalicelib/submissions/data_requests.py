"""A person's rights over what they sent: find, copy, restrict and erase
every submission from their address, matched as the rate limit matches it
(so `Ada+news@Example.com` is `ada@example.com`), through the `by-email`
index of the address's digest.

A restricted submission is kept, and never forwarded or retried: no sender
can claim it (a claim asks for another status), and it is in no list by
status. Erasing deletes each submission, its idempotency record and the
address's rate-limit counter of the current window; a delivery still queued
then finds nothing to claim. The log holds the request and its count, never
the address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .. import aws, clock, observability
from ..settings import get_settings
from ..tables import submissions_table
from .errors import DataRequestInvalid
from .fields import EmailAddress
from .intake import ADDRESS_MATCHING, email_digest, enqueue
from .staff import table_unavailable
from .submission import RECEIVED, RESTRICTED, Submission, iso

Action = Literal["find", "export", "restrict", "lift", "erase"]
ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]


class DataRequest(BaseModel):
    """A request about one person's data: their address and what to do."""

    model_config = ConfigDict(extra="forbid")

    email: EmailAddress
    action: Action


def read(data: Any) -> DataRequest:
    """The request, validated; DataRequestInvalid in plain words."""
    try:
        return DataRequest.model_validate(data)
    except ValidationError as error:
        problem = error.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else "body"
        if name == "email":
            message = "email must be an email address, like name@example.com."
        elif name == "action":
            message = f"action must be one of {', '.join(ACTIONS)}."
        elif problem["type"] == "extra_forbidden":
            message = f"{name} is not part of a data request: send email and action only."
        else:
            message = 'Send a JSON object: {"email": "name@example.com", "action": "find"}.'
        raise DataRequestInvalid(message) from None


def address(email: str) -> str:
    """An address as a submission stores it (for the CLI's --email)."""
    return read({"email": email, "action": "find"}).email


def _items(email: str) -> list[submissions_table.Listed]:
    try:
        return submissions_table.by_email(email_digest(email).value)
    except aws.errors() as error:
        raise table_unavailable(error) from None


def find(email: str) -> list[dict]:
    """Every submission from the address, whatever its status, as staff see them."""
    return [Submission(**listed.row).view() for listed in _items(email)]


def export(email: str) -> dict:
    """Everything stored about the person: each submission with its
    delivery record and when it was stored and will expire."""
    submissions = []
    for listed in _items(email):
        view = Submission(**listed.row).view()
        view["expires_at"] = iso(listed.expires_at) if listed.expires_at is not None else None
        view["restricted_from"] = listed.restricted_from
        submissions.append(view)
    return {"email": email, "submissions": submissions}


@dataclass
class Plan:
    """What a change would touch, and the change itself (`apply`: how many
    items it changed)."""

    action: str
    touches: list[str]
    apply: Callable[[], int]


def plan(action: str, email: str) -> Plan:
    """What `restrict`, `lift` or `erase` would touch for the address."""
    items = _items(email)
    if action == "restrict":
        chosen = [listed for listed in items if listed.row["status"] != RESTRICTED]
        change = submissions_table.restrict
    elif action == "lift":
        chosen = [listed for listed in items if listed.row["status"] == RESTRICTED]
        change = submissions_table.lift
    else:
        return _erase_plan(email, items)
    references = [listed.row["reference"] for listed in chosen]

    def apply() -> int:
        changed = [reference for reference in references if change(reference, RESTRICTED)]
        if action == "lift":
            for reference, listed in zip(references, chosen, strict=True):
                if reference in changed and listed.restricted_from == RECEIVED:
                    enqueue(reference)  # pending again: send it now
        return len(changed)

    return Plan(action, [f"submission {reference}" for reference in references], apply)


def _erase_plan(email: str, items: list[submissions_table.Listed]) -> Plan:
    window = get_settings().rate_limit_window_seconds
    window_start = int(clock.now() // window * window)
    keys = [key for listed in items for key in submissions_table.erase(listed)]
    keys.append(submissions_table.rate_counter("email", email_digest(email).value, window_start))
    return Plan(
        "erase",
        [submissions_table.describe_key(key) for key in keys],
        lambda: sum(submissions_table.delete(key) for key in keys),
    )


def carry_out(change: Plan) -> int:
    """Make the change; how many items it changed, logged without the address."""
    try:
        count = change.apply()
    except aws.errors() as error:
        observability.emit(
            {
                "type": "data_request",
                "action": change.action,
                "outcome": "failed",
                "error": aws.describe(error),
            }
        )
        raise table_unavailable(error) from None
    observability.emit({"type": "data_request", "action": change.action, "count": count})
    return count


def answer(request: DataRequest) -> dict:
    """The HTTP route's answer: the request carried out, signed by staff."""
    if request.action == "find":
        return {"submissions": find(request.email)}
    if request.action == "export":
        return export(request.email)
    count = carry_out(plan(request.action, request.email))
    return {"action": request.action, "count": count}


def backfill() -> int:
    """Give every submission stored before addresses were digested (or
    digested by an older match) the digest it is found by; how many."""
    done = 0
    for item in submissions_table.without_email_digest(ADDRESS_MATCHING):
        done += submissions_table.set_email_digest(item, email_digest(submissions_table.email_of(item)))
    observability.emit({"type": "data_request", "action": "backfill", "count": done})
    return done
