"""The submissions table: its item layout, and every write and read that
intake, delivery and staff tools make on it.

    pk                                 sk  holds
    submission#<reference>             -   a submission: type, fields, status, attempts,
                                           the digest of the request that stored it,
                                           the claim of whoever is sending it
    rate#<ip|email>#<digest>#<window>  -   requests counted in one rate-limit window
    idempotency#<type>#<digest>        -   the first answer to an Idempotency-Key
    message#<SES message id>           -   which submission and which of its emails
                                           (team, acknowledgement) SES sent as it

Every item expires by `expires_at`: a submission after the stage's retention
period, a counter after its window, an idempotency record after a day. Client
IPs, addresses and keys appear in keys only as SHA-256 digests. Only
submissions carry `status`, so the `by-status` index holds them alone.

AWS errors propagate: the caller decides what a failure means.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .. import aws
from ..settings import get_settings
from ..submissions.submission import Submission

DETAIL = "-"
BY_STATUS = "by-status"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": DETAIL}}


def _submission_key(reference: str) -> dict:
    return _key(f"submission#{reference}")


def _table() -> str:
    return get_settings().submissions_table


# Encoding ----------------------------------------------------------------------


def to_item(submission: Submission) -> dict:
    item = {
        **_submission_key(submission.reference),
        "reference": {"S": submission.reference},
        "type": {"S": submission.type},
        "created_at": {"S": submission.created_at},
        "status": {"S": submission.status},
        "fields": {"S": json.dumps(submission.fields, ensure_ascii=False)},
        "recipient": {"S": submission.recipient},
        "attempts": {"N": str(submission.attempts)},
    }
    if submission.document:
        item["document"] = {"S": json.dumps(submission.document, ensure_ascii=False)}
    return item


def from_item(item: dict) -> Submission:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return Submission(
        reference=item["reference"]["S"],
        type=item["type"]["S"],
        created_at=item["created_at"]["S"],
        fields=json.loads(item["fields"]["S"]),
        recipient=item["recipient"]["S"],
        document=json.loads(item["document"]["S"]) if "document" in item else None,
        status=item["status"]["S"],
        attempts=int(item["attempts"]["N"]),
        last_error=text("last_error"),
        forwarded_at=text("forwarded_at"),
        acknowledged_at=text("acknowledged_at"),
        acknowledged_by=text("acknowledged_by"),
        team_mail=text("team_mail"),
        acknowledgement_mail=text("acknowledgement_mail"),
    )


def status_of(item: dict) -> str | None:
    return item["status"]["S"] if "status" in item else None


def next_attempt_at(item: dict) -> int:
    return int(item.get("next_attempt_at", {}).get("N", "0"))


# Storing a new submission ---------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    scope: str  # "ip" or "email"
    value: str
    limit: int


@dataclass(frozen=True)
class Stored:
    pass


@dataclass(frozen=True)
class Replayed:
    """The Idempotency-Key was used before: its first answer."""

    reference: str
    request_digest: str


@dataclass(frozen=True)
class AlreadyStored:
    """The same request was stored before (its answer was lost, or it was
    sent again): the submission it made."""

    reference: str


@dataclass(frozen=True)
class OverLimit:
    pass


@dataclass(frozen=True)
class ReferenceTaken:
    pass


@dataclass(frozen=True)
class Contended:
    """Another transaction touched the same items: try again."""

    error: Exception


StoreOutcome = Stored | AlreadyStored | Replayed | OverLimit | ReferenceTaken | Contended


def store(
    submission: Submission,
    *,
    request: str,
    now: int,
    next_attempt_at: int,
    expires_at: int,
    rate_limits: list[RateLimit],
    window: tuple[int, int],
    idempotency: tuple[str, str, int] | None,
) -> StoreOutcome:
    """Store the submission, count it against each rate limit and record its
    Idempotency-Key (digest of the key, digest of the request, expiry), all
    or nothing, in one transaction.

    `request` (at most 36 characters) identifies the request: it is the
    transaction's ClientRequestToken, so DynamoDB applies a transaction sent
    again within ten minutes once, and it is kept on the item, so the same
    request finds its submission after that too. The caller sends the same
    arguments again for the same token: DynamoDB refuses a token reused
    with others (IdempotentParameterMismatchException, which propagates)."""
    window_start, window_end = window
    item = {
        **to_item(submission),
        "request": {"S": request},
        "next_attempt_at": {"N": str(next_attempt_at)},
        "expires_at": {"N": str(expires_at)},
    }
    actions: list[dict] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
    ]
    for limit in rate_limits:
        actions.append(
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _key(f"rate#{limit.scope}#{digest(limit.value)}#{window_start}"),
                    "UpdateExpression": "ADD #count :one SET expires_at = :expires",
                    # A limit of 0 turns the form off.
                    "ConditionExpression": "(attribute_not_exists(#count) AND :one <= :limit) OR #count < :limit",
                    "ExpressionAttributeNames": {"#count": "count"},
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":limit": {"N": str(limit.limit)},
                        ":expires": {"N": str(window_end)},
                    },
                }
            }
        )
    if idempotency is not None:
        key_digest, request_digest, idempotency_expires_at = idempotency
        actions.append(
            {
                "Put": {
                    "TableName": _table(),
                    "Item": {
                        **_key(f"idempotency#{submission.type}#{key_digest}"),
                        "reference": {"S": submission.reference},
                        "request": {"S": request_digest},
                        "expires_at": {"N": str(idempotency_expires_at)},
                    },
                    # TTL deletes late: an expired record counts as gone.
                    "ConditionExpression": "attribute_not_exists(pk) OR expires_at < :now",
                    "ExpressionAttributeValues": {":now": {"N": str(now)}},
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().transact_write_items(TransactItems=actions, ClientRequestToken=request)
        return Stored()
    except ClientError as error:
        if aws.error_code(error) != "TransactionCanceledException":
            raise
        cancelled = error
    reasons = cancelled.response.get("CancellationReasons", [])
    codes = [reason.get("Code") for reason in reasons]
    existing = reasons[0].get("Item", {}) if codes[:1] == ["ConditionalCheckFailed"] else {}
    if existing.get("request", {}).get("S") == request:
        return AlreadyStored(existing["reference"]["S"])
    if idempotency is not None and codes[-1:] == ["ConditionalCheckFailed"]:
        earlier = reasons[-1].get("Item", {})
        return Replayed(earlier["reference"]["S"], earlier.get("request", {}).get("S", ""))
    if "ConditionalCheckFailed" in codes[1 : 1 + len(rate_limits)]:
        return OverLimit()
    if codes[:1] == ["ConditionalCheckFailed"]:
        return ReferenceTaken()
    if "TransactionConflict" in codes:
        return Contended(cancelled)
    raise cancelled


def stored_by(reference: str, request: str) -> bool:
    """Whether `request` stored the submission: a consistent read, to settle
    a transaction whose answer was lost."""
    response = aws.dynamodb().get_item(
        TableName=_table(),
        Key=_submission_key(reference),
        ConsistentRead=True,
        ProjectionExpression="#request",
        ExpressionAttributeNames={"#request": "request"},
    )
    return bool(response.get("Item", {}).get("request", {}).get("S") == request)


# Claims: one sender at a time ----------------------------------------------------------


def claim(
    reference: str,
    *,
    claim: str,
    now: int,
    expires_at: int,
    statuses: tuple[str, ...],
    due_only: bool,
    acknowledge: bool,
) -> Submission | dict:
    """Claim a submission for sending with one conditional write: the
    submission, claimed; or, if someone else holds it or its status does not
    allow sending, the item as it stands (empty if there is none).

    With `acknowledge`, the claim also becomes `acknowledged_by` unless some
    sender already is: the one sender who may send the acknowledgement."""
    from botocore.exceptions import ClientError

    condition = "#status IN ({}) AND (attribute_not_exists(#lease) OR #lease < :now)".format(
        ", ".join(f":s{index}" for index in range(len(statuses)))
    )
    if due_only:
        condition += " AND #due <= :now"
    try:
        response = aws.dynamodb().update_item(
            TableName=_table(),
            Key=_submission_key(reference),
            UpdateExpression="SET #status = :received, #claim = :claim, #lease = :lease"
            + (", #ack = if_not_exists(#ack, :claim)" if acknowledge else ""),
            ConditionExpression=condition,
            ExpressionAttributeNames={
                "#status": "status",
                "#claim": "claim",
                "#lease": "claim_expires_at",
                **({"#due": "next_attempt_at"} if due_only else {}),
                **({"#ack": "acknowledged_by"} if acknowledge else {}),
            },
            ExpressionAttributeValues={
                ":received": {"S": "received"},
                ":claim": {"S": claim},
                ":lease": {"N": str(expires_at)},
                ":now": {"N": str(now)},
                **{f":s{index}": {"S": status} for index, status in enumerate(statuses)},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        return dict(error.response.get("Item", {}))
    return from_item(response["Attributes"])


def release(reference: str, claim: str, changes: dict[str, Any]) -> None:
    """Write a delivery's outcome and drop the claim, if this sender still
    holds it (ConditionalCheckFailedException otherwise). A change to None
    removes the attribute."""
    names = {"#claim": "claim", "#claim_expires_at": "claim_expires_at"}
    values: dict[str, dict] = {":claim": {"S": claim}}
    sets, removes = [], ["#claim", "#claim_expires_at"]
    for name, value in changes.items():
        names[f"#{name}"] = name
        if value is None:
            removes.append(f"#{name}")
        else:
            values[f":{name}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#{name} = :{name}")
    expression = (f"SET {', '.join(sets)} " if sets else "") + f"REMOVE {', '.join(removes)}"
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=_submission_key(reference),
        UpdateExpression=expression,
        ConditionExpression="#claim = :claim",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


# Reads ------------------------------------------------------------------------------


def with_status(status: str) -> list[dict]:
    """Every submission with a status, oldest first (the index is eventually
    consistent: a claim re-checks on the table)."""
    items: list[dict] = []
    extra: dict[str, Any] = {}
    while True:
        response = aws.dynamodb().query(
            TableName=_table(),
            IndexName=BY_STATUS,
            KeyConditionExpression="#status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": status}},
            **extra,
        )
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return items
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# SES's events about sent emails ------------------------------------------------


def remember_message(message_id: str, reference: str, copy: str, expires_at: int) -> None:
    """Which submission, and which of its emails, SES sent as `message_id`."""
    aws.dynamodb().put_item(
        TableName=_table(),
        Item={
            **_key(f"message#{message_id}"),
            "reference": {"S": reference},
            "copy": {"S": copy},
            "expires_at": {"N": str(expires_at)},
        },
    )


def message(message_id: str) -> tuple[str, str] | None:
    """The reference and email (team, acknowledgement) SES sent as `message_id`."""
    item = aws.dynamodb().get_item(TableName=_table(), Key=_key(f"message#{message_id}")).get("Item")
    return (item["reference"]["S"], item["copy"]["S"]) if item else None


def record_mail(reference: str, copy: str, outcome: str, *, failed: str | None) -> Submission:
    """Record what SES said of one of a submission's emails; with `failed`,
    make that its status, the outcome its last error. Returns the submission."""
    names = {"#mail": f"{copy}_mail"}
    values = {":outcome": {"S": outcome}}
    expression = "SET #mail = :outcome"
    if failed:
        names.update({"#status": "status", "#error": "last_error"})
        values[":failed"] = {"S": failed}
        expression += ", #status = :failed, #error = :outcome"
    response = aws.dynamodb().update_item(
        TableName=_table(),
        Key=_submission_key(reference),
        UpdateExpression=expression,
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
        ReturnValues="ALL_NEW",
    )
    return from_item(response["Attributes"])
