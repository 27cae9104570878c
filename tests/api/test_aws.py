"""AWS errors sorted in one place (chalicelib/aws.py), never raising, and
what callers make of them: a read DynamoDB answers too slowly is a 503 with
Retry-After, and SES is never retried by botocore."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
)
from conftest import body
from fake_aws import client_error, read_timeout

from chalicelib import aws

URL = "https://dynamodb.eu-west-2.amazonaws.com/"


@pytest.mark.parametrize(
    ("error", "code", "transient", "unknown"),
    [
        (read_timeout("dynamodb"), "ReadTimeoutError", True, True),
        (ConnectionClosedError(endpoint_url=URL), "ConnectionClosedError", True, True),
        (ConnectTimeoutError(endpoint_url=URL), "ConnectTimeoutError", True, False),
        (EndpointConnectionError(endpoint_url=URL), "EndpointConnectionError", True, False),
        (client_error("InternalFailure", "SendEmail", 500), "InternalFailure", True, True),
        (client_error("ServiceUnavailable", "SendEmail", 503), "ServiceUnavailable", True, True),
        (client_error("ThrottlingException", "Query", 400), "ThrottlingException", True, False),
        (
            client_error("TransactionConflictException", "TransactWriteItems"),
            "TransactionConflictException",
            True,
            False,
        ),
        (client_error("MessageRejected", "SendEmail", 400), "MessageRejected", False, False),
        (client_error("AccessDeniedException", "GetItem", 400), "AccessDeniedException", False, False),
    ],
)
def test_every_aws_error_is_sorted_without_raising(error, code, transient, unknown):
    assert aws.error_code(error) == code
    assert aws.is_transient(error) is transient
    assert aws.outcome_unknown(error) is unknown
    assert aws.describe(error) == (f"outcome unknown: {code}" if unknown else code)


def test_an_error_with_no_answer_at_all_is_sorted_by_its_class():
    # A timeout carries no .response; neither does an error botocore never sent.
    for error in (read_timeout("dynamodb"), ValueError("not from AWS")):
        assert aws.http_status(error) is None
        assert aws.error_code(error) == type(error).__name__


def test_the_ses_client_makes_one_attempt_and_waits_long_enough_for_a_slow_day():
    config = aws.ses().meta.config
    assert config.retries["total_max_attempts"] == 1
    # SES has taken 11-12 s on its slow days.
    assert config.read_timeout >= 15
    assert config.connect_timeout + config.read_timeout == aws.SES_CALL_SECONDS


@pytest.mark.parametrize("operation", ["GetItem", "Query"])
def test_a_dynamodb_read_that_times_out_is_a_503_with_retry_after(client, seeded, aws_faults, operation):
    aws_faults[operation] = read_timeout("dynamodb")
    url = "/content?path=/what-we-do/" if operation == "GetItem" else "/posts"

    response = client.http.get(url)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert body(response)["error"]["code"] == "service_unavailable"
