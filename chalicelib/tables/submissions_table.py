"""The submissions table: its item layout, and every write and read that
intake, delivery and staff tools make on it.

    pk                                 sk  holds
    submission#<reference>             -   a submission: type, fields, status, attempts,
                                           the digest of the request that stored it,
                                           the claim of whoever is sending it, the
                                           digest of its address (`email_digest`, with
                                           the matching version `email_match`) and of
                                           its Idempotency-Key (`idempotency_digest`)
    rate#<ip|email>#<digest>#<window>  -   requests counted in one rate-limit window
    idempotency#<type>#<digest>        -   the first answer to an Idempotency-Key
    message#<SES message id>           -   which submission and which of its emails
                                           (team, acknowledgement) SES sent as it

Every item expires by `expires_at`: a submission after the stage's retention
period, a counter after its window, an idempotency record after a day. Client
IPs, addresses and keys appear in keys only as SHA-256 digests. Only
submissions carry `status` and `email_digest`, so the `by-status` and
`by-email` indexes hold them alone.

AWS errors propagate: the caller decides what a failure means.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .. import aws
from ..settings import get_settings

DETAIL = "-"
BY_STATUS = "by-status"
BY_EMAIL = "by-email"
_SUBMISSION = "submission#"


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}, "sk": {"S": DETAIL}}


def _submission_key(reference: str) -> dict:
    return _key(f"{_SUBMISSION}{reference}")


def _table() -> str:
    return get_settings().submissions_table


# Encoding ----------------------------------------------------------------------


# A submission as the table gives and takes it: its attributes, decoded (the
# domain's Submission is built from one; tables know no domain type).
Row = dict[str, Any]


def to_item(row: Row) -> dict:
    item = {
        **_submission_key(row["reference"]),
        "reference": {"S": row["reference"]},
        "type": {"S": row["type"]},
        "created_at": {"S": row["created_at"]},
        "status": {"S": row["status"]},
        "fields": {"S": json.dumps(row["fields"], ensure_ascii=False)},
        "recipient": {"S": row["recipient"]},
        "attempts": {"N": str(row["attempts"])},
    }
    if row.get("document"):
        item["document"] = {"S": json.dumps(row["document"], ensure_ascii=False)}
    return item


@dataclass(frozen=True)
class EmailDigest:
    """The digest an address is found by, and the version of the matching
    that made it: a submission stored under an older one is digested again."""

    value: str
    version: str


def _email_attributes(email: EmailDigest) -> dict:
    return {"email_digest": {"S": email.value}, "email_match": {"S": email.version}}


def from_item(item: dict) -> Row:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return dict(
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


@dataclass(frozen=True)
class Listed:
    """A submission as a listing finds it, decoded: its row, and what the
    table keeps beside it."""

    row: Row
    next_attempt_at: int  # when the retry run may send it again (0: now)
    expires_at: int | None
    restricted_from: str | None  # the status lifting a restriction gives back
    idempotency_digest: str | None
    message_ids: tuple[str, ...]  # of the emails SES sent for it


def _listed(item: dict) -> Listed:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return Listed(
        row=from_item(item),
        next_attempt_at=int(item.get("next_attempt_at", {}).get("N", "0")),
        expires_at=int(item["expires_at"]["N"]) if "expires_at" in item else None,
        restricted_from=text("restricted_from"),
        idempotency_digest=text("idempotency_digest"),
        message_ids=tuple(
            item[f"{copy}_message_id"]["S"] for copy in SENT_AT if f"{copy}_message_id" in item
        ),
    )


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
class TokenSeen:
    """DynamoDB applied a transaction with this token in the last ten
    minutes (it answered this one without writing, or refused it for its
    other arguments): the same request stored it, or what it stored was
    erased since."""


@dataclass(frozen=True)
class Contended:
    """Another transaction touched the same items: try again."""

    error: Exception


StoreOutcome = Stored | AlreadyStored | Replayed | OverLimit | ReferenceTaken | TokenSeen | Contended


def _rate_key(scope: str, value_digest: str, window_start: int) -> dict:
    return _key(f"rate#{scope}#{value_digest}#{window_start}")


def _idempotency_key(kind: str, key_digest: str) -> dict:
    return _key(f"idempotency#{kind}#{key_digest}")


def store(
    submission: Row,
    *,
    request: str,
    now: int,
    next_attempt_at: int,
    expires_at: int,
    rate_limits: list[RateLimit],
    window: tuple[int, int],
    idempotency: tuple[str, str, int] | None,
    email: EmailDigest,
) -> StoreOutcome:
    """Store the submission, count it against each rate limit and record its
    Idempotency-Key (digest of the key, digest of the request, expiry), all
    or nothing, in one transaction.

    `request` (at most 36 characters) identifies the request: it is the
    transaction's ClientRequestToken, so DynamoDB applies a transaction sent
    again within ten minutes once, and it is kept on the item, so the same
    request finds its submission after that too. A token DynamoDB applied
    before is TokenSeen: whether with the same arguments (it answers success
    and writes nothing, reading only, as its consumed capacity shows) or
    with others (IdempotentParameterMismatchException)."""
    window_start, window_end = window
    item = {
        **to_item(submission),
        "request": {"S": request},
        "next_attempt_at": {"N": str(next_attempt_at)},
        "expires_at": {"N": str(expires_at)},
        **_email_attributes(email),
    }
    if idempotency is not None:
        item["idempotency_digest"] = {"S": idempotency[0]}
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
                    "Key": _rate_key(limit.scope, digest(limit.value), window_start),
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
                        **_idempotency_key(submission["type"], key_digest),
                        "reference": {"S": submission["reference"]},
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
        answer = aws.dynamodb().transact_write_items(
            TransactItems=actions, ClientRequestToken=request, ReturnConsumedCapacity="TOTAL"
        )
    except ClientError as error:
        if aws.error_code(error) == "IdempotentParameterMismatchException":
            return TokenSeen()
        if aws.error_code(error) != "TransactionCanceledException":
            raise
        cancelled = error
    else:
        consumed = answer.get("ConsumedCapacity", [])
        wrote = not consumed or any(table.get("WriteCapacityUnits") for table in consumed)
        return Stored() if wrote else TokenSeen()
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


@dataclass(frozen=True)
class Claimed:
    """A submission claimed for sending: its row."""

    row: Row


def claim(
    reference: str,
    *,
    claim: str,
    now: int,
    expires_at: int,
    statuses: tuple[str, ...],
    due_only: bool,
    acknowledge: bool,
) -> Claimed | dict:
    """Claim a submission for sending with one conditional write: the
    submission, claimed; or, if someone else holds it or its status does not
    allow sending, the item as it stands (empty if there is none).

    With `acknowledge`, the claim also becomes `acknowledged_by` unless some
    sender already is: the one sender who may send the acknowledgement. A
    sender whose claim lapsed with the mark still on it died before sending
    or recording it: the mark passes to this claim."""
    condition = "#status IN ({}) AND (attribute_not_exists(#lease) OR #lease < :now)".format(
        ", ".join(f":s{index}" for index in range(len(statuses)))
    )
    if due_only:
        condition += " AND #due <= :now"
    before, current = _update_or_current(
        reference,
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
        ReturnValues="ALL_OLD",
    )
    if before is None:
        return current
    row = {**from_item(before), "status": "received"}
    if acknowledge:
        lapsed = before.get("claim", {}).get("S")
        # Unmarked, it was marked by this claim. Marked by a sender whose
        # claim lapsed before it recorded the acknowledgement (the Send
        # event records one SES took), it is this one's now.
        if row["acknowledged_by"] is None or (
            row["acknowledged_by"] == lapsed
            and row["acknowledged_at"] is None
            and _take_acknowledgement(reference, claim, lapsed)
        ):
            row["acknowledged_by"] = claim
    return Claimed(row)


def _take_acknowledgement(reference: str, claim: str, lapsed: str) -> bool:
    return _conditional_update(
        reference,
        UpdateExpression="SET #ack = :claim",
        ConditionExpression="#claim = :claim AND #ack = :lapsed AND attribute_not_exists(#acked)",
        ExpressionAttributeNames={"#ack": "acknowledged_by", "#claim": "claim", "#acked": "acknowledged_at"},
        ExpressionAttributeValues={":claim": {"S": claim}, ":lapsed": {"S": lapsed}},
    )


def _outcome_expression(changes: dict[str, Any], names: dict, values: dict, removes: list[str]) -> str:
    """An update expression writing a delivery's `changes` (a change to None
    removes the attribute), after `removes`; names and values filled in."""
    sets = []
    for name, value in changes.items():
        names[f"#{name}"] = name
        if value is None:
            removes.append(f"#{name}")
        else:
            values[f":{name}"] = {"N": str(value)} if isinstance(value, int) else {"S": value}
            sets.append(f"#{name} = :{name}")
    return (f"SET {', '.join(sets)} " if sets else "") + (f"REMOVE {', '.join(removes)}" if removes else "")


def release(reference: str, claim: str, changes: dict[str, Any]) -> None:
    """Write a delivery's outcome and drop the claim, if this sender still
    holds it (ConditionalCheckFailedException otherwise). A change to None
    removes the attribute."""
    names = {"#claim": "claim", "#claim_expires_at": "claim_expires_at"}
    values: dict[str, dict] = {":claim": {"S": claim}}
    expression = _outcome_expression(changes, names, values, ["#claim", "#claim_expires_at"])
    aws.dynamodb().update_item(
        TableName=_table(),
        Key=_submission_key(reference),
        UpdateExpression=expression,
        ConditionExpression="#claim = :claim",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def record_under_restriction(reference: str, changes: dict[str, Any], restricted: str) -> bool:
    """Write a delivery's outcome on a submission restricted (so unclaimed)
    while it was being sent, its status as the one the lifting gives back.
    False if it is not restricted (gone, erased), or is claimed again."""
    changes = dict(changes)
    status = changes.pop("status", None)
    if status is not None:
        changes["restricted_from"] = status
    names = {"#status": "status", "#claim": "claim"}
    values: dict[str, dict] = {":restricted": {"S": restricted}}
    return _conditional_update(
        reference,
        # With nothing to write, the condition alone says whether it is restricted.
        UpdateExpression=_outcome_expression(changes, names, values, []) or "SET #status = :restricted",
        ConditionExpression="#status = :restricted AND attribute_not_exists(#claim)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def holds(reference: str, claim: str) -> bool:
    """Whether the submission is still there and claimed by `claim` (a
    consistent read: a restriction or an erasure drops the claim)."""
    item = (
        aws.dynamodb()
        .get_item(
            TableName=_table(),
            Key=_submission_key(reference),
            ConsistentRead=True,
            ProjectionExpression="#claim",
            ExpressionAttributeNames={"#claim": "claim"},
        )
        .get("Item", {})
    )
    return bool(item.get("claim", {}).get("S") == claim)


# Reads ------------------------------------------------------------------------------


def with_status(status: str) -> list[Listed]:
    """Every submission with a status, oldest first (the index is eventually
    consistent: a claim re-checks on the table)."""
    items = _query(
        IndexName=BY_STATUS,
        KeyConditionExpression="#status = :status",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":status": {"S": status}},
    )
    return [_listed(item) for item in items]


def count_with_status(status: str, *, created_since: str) -> int:
    """How many submissions with a status were received since a moment (ISO 8601 UTC)."""
    count = 0
    extra: dict[str, Any] = {}
    while True:
        response = aws.dynamodb().query(
            TableName=_table(),
            IndexName=BY_STATUS,
            KeyConditionExpression="#status = :status AND created_at >= :since",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": status}, ":since": {"S": created_since}},
            Select="COUNT",
            **extra,
        )
        count += response["Count"]
        if "LastEvaluatedKey" not in response:
            return count
        extra = {"ExclusiveStartKey": response["LastEvaluatedKey"]}


def _query(**query: Any) -> list[dict]:
    """Every item a query finds, page after page."""
    return _pages(aws.dynamodb().query, **query)


def _pages(operation: Any, **request: Any) -> list[dict]:
    items: list[dict] = []
    extra: dict[str, Any] = {}
    while True:
        response = operation(TableName=_table(), **request, **extra)
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return items
        extra["ExclusiveStartKey"] = response["LastEvaluatedKey"]


# A person's submissions: found by their address's digest -------------------------------


def by_email(email_digest: str) -> list[Listed]:
    """Every submission from one address, whatever its status, oldest first."""
    items = _query(
        IndexName=BY_EMAIL,
        KeyConditionExpression="#email = :email",
        ExpressionAttributeNames={"#email": "email_digest"},
        ExpressionAttributeValues={":email": {"S": email_digest}},
    )
    return [_listed(item) for item in items]


def restrict(reference: str, restricted: str) -> bool:
    """Mark a submission `restricted`, keeping the status it had in
    `restricted_from`, and drop any claim so that a sender in flight cannot
    record an outcome over it. False if it is gone or restricted already."""
    return _conditional_update(
        reference,
        UpdateExpression="SET #from = #status, #status = :restricted REMOVE #claim, #lease",
        ConditionExpression="attribute_exists(pk) AND #status <> :restricted",
        ExpressionAttributeNames={
            "#from": "restricted_from",
            "#status": "status",
            "#claim": "claim",
            "#lease": "claim_expires_at",
        },
        ExpressionAttributeValues={":restricted": {"S": restricted}},
    )


def lift(reference: str, restricted: str) -> bool:
    """Give a restricted submission back the status it had. False if it is
    gone or not restricted."""
    return _conditional_update(
        reference,
        UpdateExpression="SET #status = #from REMOVE #from",
        ConditionExpression="#status = :restricted AND attribute_exists(#from)",
        ExpressionAttributeNames={"#from": "restricted_from", "#status": "status"},
        ExpressionAttributeValues={":restricted": {"S": restricted}},
    )


def _conditional_update(reference: str, **update: Any) -> bool:
    from botocore.exceptions import ClientError

    try:
        aws.dynamodb().update_item(TableName=_table(), Key=_submission_key(reference), **update)
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        return False
    return True


def erase(listed: Listed) -> list[dict]:
    """The keys of everything stored for one submission: the submission, its
    idempotency record and the records of the emails sent for it (the only
    records that hold its reference)."""
    keys = [_submission_key(listed.row["reference"])]
    if listed.idempotency_digest is not None:
        keys.append(_idempotency_key(listed.row["type"], listed.idempotency_digest))
    keys += [_key(f"message#{message_id}") for message_id in listed.message_ids]
    return keys


def rate_counter(scope: str, value_digest: str, window_start: int) -> dict:
    return _rate_key(scope, value_digest, window_start)


def delete(key: dict) -> bool:
    """Delete one item; whether there was one to delete."""
    response = aws.dynamodb().delete_item(TableName=_table(), Key=key, ReturnValues="ALL_OLD")
    return "Attributes" in response


def describe_key(key: dict) -> str:
    """What a key names, for a list of what a request will touch: its kind
    and, for a submission, its reference (never a digest)."""
    kind, _, rest = key["pk"]["S"].partition("#")
    return f"submission {rest}" if kind == "submission" else f"{kind} record"


def without_email_digest(version: str) -> list[dict]:
    """Submissions stored before addresses were digested, or digested by
    another matching version: their keys and fields (a Scan, for a backfill)."""
    return _pages(
        aws.dynamodb().scan,
        FilterExpression="begins_with(pk, :submission) AND "
        "(attribute_not_exists(#email) OR #match <> :version)",
        ProjectionExpression="pk, sk, #fields",
        ExpressionAttributeNames={"#email": "email_digest", "#match": "email_match", "#fields": "fields"},
        ExpressionAttributeValues={":submission": {"S": _SUBMISSION}, ":version": {"S": version}},
    )


def email_of(item: dict) -> str:
    return str(json.loads(item["fields"]["S"])["email"])


def set_email_digest(item: dict, email: EmailDigest) -> bool:
    """Set a stored submission's address digest; False if it has gone since."""
    attributes = _email_attributes(email)
    return _conditional_update(
        item["pk"]["S"].removeprefix(_SUBMISSION),
        UpdateExpression="SET email_digest = :digest, email_match = :match",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={
            ":digest": attributes["email_digest"],
            ":match": attributes["email_match"],
        },
    )


# SES's events about sent emails ------------------------------------------------


def remember_message(message_id: str, reference: str, copy: str, expires_at: int) -> None:
    """Which submission, and which of its emails, SES sent as `message_id`:
    kept on the submission at once (so an erasure finds the record) and as
    its own record; only while the submission is there
    (TransactionCanceledException once it is erased)."""
    aws.dynamodb().transact_write_items(
        TransactItems=[
            {
                "Update": {
                    "TableName": _table(),
                    "Key": _submission_key(reference),
                    "UpdateExpression": "SET #id = :id",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeNames": {"#id": f"{copy}_message_id"},
                    "ExpressionAttributeValues": {":id": {"S": message_id}},
                }
            },
            {
                "Put": {
                    "TableName": _table(),
                    "Item": {
                        **_key(f"message#{message_id}"),
                        "reference": {"S": reference},
                        "copy": {"S": copy},
                        "expires_at": {"N": str(expires_at)},
                    },
                }
            },
        ]
    )


def message(message_id: str) -> tuple[str, str] | None:
    """The reference and email (team, acknowledgement) SES sent as `message_id`."""
    item = aws.dynamodb().get_item(TableName=_table(), Key=_key(f"message#{message_id}")).get("Item")
    return (item["reference"]["S"], item["copy"]["S"]) if item else None


# A submission's two emails (the `copy` of a message record), by the
# attribute that says when SES took each.
SENT_AT = {"team": "forwarded_at", "acknowledgement": "acknowledged_at"}


@dataclass(frozen=True)
class Recorded:
    """What SES said is recorded: the submission's row, as it now stands."""

    row: Row


def record_mail(
    reference: str,
    copy: str,
    outcome: str,
    *,
    at: str,
    status: str | None,
    as_error: bool,
    restricted: str,
    sent: str | None,
) -> Recorded | dict:
    """Record what SES said of one of a submission's emails at `at` (SES's
    own time, ISO 8601 UTC), unless a later word on it is recorded already:
    events arrive out of order. With `status`, make it the submission's
    (or, if it is `restricted`, the status its lifting gives back), the
    outcome its last error if `as_error`, else clearing it. With `sent`
    (SES's Send event: the message id), record when SES took the email,
    unless recorded already. Recorded; or, if nothing was recorded, the
    item as it stands (empty if it is gone, erased)."""
    names = {"#mail": f"{copy}_mail", "#at": f"{copy}_mail_at"}
    values = {":outcome": {"S": outcome}, ":at": {"S": at}}
    sets = ["#mail = :outcome", "#at = :at"]
    if sent:
        names.update({"#sent_at": SENT_AT[copy], "#id": f"{copy}_message_id"})
        values[":id"] = {"S": sent}
        sets += ["#sent_at = if_not_exists(#sent_at, :at)", "#id = :id"]
    condition = "attribute_exists(pk) AND (attribute_not_exists(#at) OR #at <= :at)"
    if not status:
        return _record(reference, "SET " + ", ".join(sets), condition, names, values)
    names.update({"#status": "status", "#from": "restricted_from", "#error": "last_error"})
    values.update({":status": {"S": status}, ":restricted": {"S": restricted}})
    error = ", #error = :outcome" if as_error else " REMOVE #error"
    recorded: Recorded | dict = {}
    # A restriction holds whatever SES says: what it says waits for the lifting.
    for target, is_restricted in (("#status", "<>"), ("#from", "=")):
        recorded = _record(
            reference,
            "SET " + ", ".join([*sets, f"{target} = :status"]) + error,
            f"{condition} AND #status {is_restricted} :restricted",
            names,
            values,
        )
        if not (isinstance(recorded, dict) and status_of(recorded) == restricted):
            break
    return recorded


def _record(reference: str, expression: str, condition: str, names: dict, values: dict) -> Recorded | dict:
    recorded, current = _update_or_current(
        reference,
        UpdateExpression=expression,
        ConditionExpression=condition,
        ExpressionAttributeNames={name: names[name] for name in names if name in expression + condition},
        ExpressionAttributeValues={
            value: values[value] for value in values if value in expression + condition
        },
        ReturnValues="ALL_NEW",
    )
    return current if recorded is None else Recorded(from_item(recorded))


def _update_or_current(reference: str, **update: Any) -> tuple[dict | None, dict]:
    """A conditional update of a submission: the attributes it returns, or,
    if its condition failed, None and the item as it stands (empty if gone)."""
    from botocore.exceptions import ClientError

    try:
        response = aws.dynamodb().update_item(
            TableName=_table(),
            Key=_submission_key(reference),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **update,
        )
    except ClientError as error:
        if aws.error_code(error) != "ConditionalCheckFailedException":
            raise
        return None, dict(error.response.get("Item", {}))
    return response["Attributes"], {}
