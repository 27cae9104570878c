"""The tests' own AWS: each test starts from the provisioned (and seeded)
state whatever the test before it did, and the fake's faults behave as the
tests that use them expect."""

from __future__ import annotations

import pytest
from botocore.exceptions import ReadTimeoutError
from fake_aws import client_error
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from chalicelib import aws
from chalicelib.settings import get_settings

# What each run of the isolation test found when it started.
found: list[dict] = []


def emulator_state() -> dict:
    settings = get_settings()
    versions = aws.s3().list_object_versions(Bucket=settings.content_bucket)
    return {
        "content": aws.dynamodb().scan(TableName=settings.content_table)["Items"],
        "submissions": aws.dynamodb().scan(TableName=settings.submissions_table)["Items"],
        "objects": [(v["Key"], v["VersionId"], v["ETag"]) for v in versions.get("Versions", [])],
        "deleted": versions.get("DeleteMarkers", []),
        "tables": aws.dynamodb().list_tables()["TableNames"],
        "queues": aws.client("sqs").list_queues().get("QueueUrls", []),
        "sent": len(ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-2"].sent_messages),
    }


def send(to: str = "ada@example.com") -> None:
    aws.ses().send_email(
        FromEmailAddress=get_settings().sender,
        Destination={"ToAddresses": [to]},
        Content={"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hello"}}}},
    )


@pytest.mark.parametrize("run", ["first", "second"])
def test_nothing_a_test_leaves_in_the_emulator_reaches_the_next(seeded, run):
    settings = get_settings()
    state = emulator_state()
    assert (state["submissions"], state["deleted"], state["sent"]) == ([], [], 0)
    assert len(state["objects"]) == len({key for key, _, _ in state["objects"]}) > 0
    assert sorted(state["tables"]) == sorted([settings.content_table, settings.submissions_table])
    # The stage's own queues, as provisioned, and none a test made.
    assert sorted(url.rsplit("/", 1)[1] for url in state["queues"]) == sorted(
        [settings.delivery_queue, f"{settings.delivery_queue}-dead-letters"]
    )
    assert found in ([], [state])
    found.append(state)

    # Leave a mark of every kind the tests make, and a few they may.
    key = state["objects"][0][0]
    aws.s3().put_object(Bucket=settings.content_bucket, Key=key, Body=b"changed")
    aws.s3().delete_object(Bucket=settings.content_bucket, Key=state["objects"][-1][0])
    item = state["content"][0]
    aws.dynamodb().delete_item(TableName=settings.content_table, Key={"pk": item["pk"], "sk": item["sk"]})
    aws.dynamodb().put_item(
        TableName=settings.submissions_table, Item={"pk": {"S": "submission#x"}, "sk": {"S": "x"}}
    )
    aws.client("sqs").create_queue(QueueName=f"left-by-the-{run}-run")
    send()


def test_a_fault_can_match_parameters_and_heal_after_so_many_calls(fake_aws, outbox):
    fake_aws.fail(
        "SendEmail",
        client_error("MessageRejected"),
        when=lambda params: params["Destination"]["ToAddresses"] == ["eve@example.com"],
        times=1,
    )
    send("ada@example.com")
    with pytest.raises(aws.errors()) as refused:
        send("eve@example.com")
    assert aws.error_code(refused.value) == "MessageRejected"
    send("eve@example.com")
    assert [email["to"] for email in outbox] == [["ada@example.com"], ["eve@example.com"]]


def test_a_lost_answer_is_carried_out_but_the_caller_gets_a_timeout(fake_aws, outbox, aws_calls):
    fault = fake_aws.fail("SendEmail", lost_answer=True)
    with pytest.raises(ReadTimeoutError):
        send()
    assert [email["to"] for email in outbox] == [["ada@example.com"]]
    fake_aws.heal(fault)
    send()
    assert len(outbox) == 2
    assert aws_calls == [("SESv2", "SendEmail")] * 2
    assert aws_calls[0].params["Destination"] == {"ToAddresses": ["ada@example.com"]}


def test_a_hook_runs_as_each_call_starts(fake_aws, aws_faults, aws_calls):
    started: list[tuple[str, str]] = []
    fake_aws.before_call.append(started.append)
    aws_faults["ListTables"] = client_error("InternalServerError", "ListTables")
    with pytest.raises(aws.errors()):
        aws.dynamodb().list_tables()
    del aws_faults["ListTables"]
    aws.dynamodb().list_tables()
    assert started == aws_calls == [("DynamoDB", "ListTables")] * 2


def put_with_token(token: str, value: str) -> dict:
    return aws.dynamodb().transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": get_settings().submissions_table,
                    "Item": {"pk": {"S": f"test#{value}"}, "sk": {"S": "-"}},
                }
            }
        ],
        ClientRequestToken=token,
        ReturnConsumedCapacity="TOTAL",
    )


def test_a_transaction_token_is_applied_once_within_ten_minutes_as_dynamodb_does(fake_aws, submissions_clock):
    table = get_settings().submissions_table
    applied = put_with_token("t-1", "a")
    assert applied["ConsumedCapacity"][0]["WriteCapacityUnits"] > 0
    aws.dynamodb().delete_item(TableName=table, Key={"pk": {"S": "test#a"}, "sk": {"S": "-"}})

    # The same request again: success, read capacity only, nothing written.
    submissions_clock.offset = 599
    replayed = put_with_token("t-1", "a")
    assert "WriteCapacityUnits" not in replayed["ConsumedCapacity"][0]
    assert aws.dynamodb().scan(TableName=table, FilterExpression="pk = :pk",
                               ExpressionAttributeValues={":pk": {"S": "test#a"}})["Items"] == []  # fmt: skip
    # Other arguments with the same token: refused.
    with pytest.raises(aws.dynamodb().exceptions.IdempotentParameterMismatchException):
        put_with_token("t-1", "b")
    # Ten minutes on, the token is new again.
    submissions_clock.offset = 601
    assert put_with_token("t-1", "a")["ConsumedCapacity"][0]["WriteCapacityUnits"] > 0
