"""How AWS failures are sorted: transient or not, and whether AWS may have
done the call though no answer came. Pure: exceptions built by hand."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
)
from fake_aws import client_error, read_timeout

from chalicelib import aws

URL = "https://email.eu-west-2.amazonaws.com/"


def test_the_code_is_aws_s_or_else_the_exception_s_name():
    assert aws.error_code(client_error("ThrottlingException", status=400)) == "ThrottlingException"
    assert aws.error_code(client_error("404", status=404)) == "404"
    assert aws.error_code(read_timeout()) == "ReadTimeoutError"
    assert aws.error_code(ClientError({}, "GetItem")) == "ClientError"
    assert aws.error_code(ValueError("boom")) == "ValueError"


def test_the_status_is_aws_s_when_an_answer_came():
    assert aws.http_status(client_error("InternalError", status=503)) == 503
    assert aws.http_status(client_error("X", status=None)) is None
    assert aws.http_status(read_timeout()) is None


@pytest.mark.parametrize(
    "error, transient",
    [
        (client_error("ThrottlingException", status=400), True),
        (client_error("Throttling", status=400), True),
        (client_error("ProvisionedThroughputExceededException", status=400), True),
        (client_error("TransactionConflictException", status=400), True),
        (client_error("ServiceUnavailable", status=503), True),
        (client_error("SomethingNew", status=500), True),
        (client_error("SomethingNew", status=None), False),
        (client_error("MessageRejected", status=400), False),
        (client_error("ValidationException", status=400), False),
        (client_error("ConditionalCheckFailedException", status=400), False),
        (client_error("ResourceNotFoundException", status=400), False),
        (read_timeout(), True),
        (ConnectionClosedError(endpoint_url=URL), True),
        (EndpointConnectionError(endpoint_url=URL), True),
    ],
)
def test_transient_failures_are_those_that_may_succeed_later(error, transient):
    assert aws.is_transient(error) is transient


@pytest.mark.parametrize(
    "error, unknown",
    [
        # Sent, and no answer came: AWS may have done it.
        (read_timeout(), True),
        (ConnectionClosedError(endpoint_url=URL), True),
        (client_error("InternalFailure", status=500), True),
        (client_error("ServiceUnavailable", status=503), True),
        # Never sent, or refused: AWS did nothing.
        (EndpointConnectionError(endpoint_url=URL), False),
        (client_error("ThrottlingException", status=400), False),
        (client_error("MessageRejected", status=400), False),
        (client_error("InternalFailure", status=None), False),
    ],
)
def test_an_outcome_is_unknown_only_when_aws_may_have_acted(error, unknown):
    assert aws.outcome_unknown(error) is unknown
