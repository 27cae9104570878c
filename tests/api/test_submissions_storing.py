"""Never lost, never sent twice, on the storing side: the visitor's answer
is 202 once the submission is stored and 503 only when it certainly is not,
a transaction whose answer was lost is settled by reading it back, the same
request is stored once, and a queue that refuses loses nothing.

The fake AWS applies a ClientRequestToken as DynamoDB does (tests/fake_aws.py):
the same token within ten minutes is success with nothing written."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import ENQUIRY, JSON, body, post, stored_submissions, team_copies
from fake_aws import client_error, read_timeout

from chalicelib import aws
from chalicelib.submissions import intake
from chalicelib.submissions.errors import RETRY_AFTER_UNAVAILABLE
from nlc_tools import cli


@pytest.fixture
def transactions(fake_aws):
    """Every TransactWriteItems request sent; `transactions.fail` scripts
    the next ones: "lost" (applied, then the answer times out), "timeout"
    (not applied, timed out) or an exception to raise instead."""

    class Recorded(list):
        fail: list

    sent = Recorded()
    sent.fail = []

    def transacting(call) -> None:
        if call[1] != "TransactWriteItems":
            return
        sent.append(call.params)
        failure = sent.fail.pop(0) if sent.fail else None
        if failure == "timeout":
            raise read_timeout("dynamodb")
        if isinstance(failure, Exception):
            raise failure
        if failure == "lost":
            fake_aws.fail("TransactWriteItems", read_timeout("dynamodb"), times=1, lost_answer=True)

    fake_aws.before_call.append(transacting)
    return sent


@pytest.fixture
def in_one_token_window(submissions_clock):
    """Early in one of DynamoDB's ten-minute token windows, whenever the test runs."""
    submissions_clock.offset = 10 - time.time() % intake.REQUEST_WINDOW_SECONDS
    return submissions_clock


# The token ---------------------------------------------------------------------------


def test_each_transaction_carries_a_token_made_from_the_request(
    client, outbox, transactions, in_one_token_window
):
    post(client)
    in_one_token_window.offset += 60
    post(client)
    post(client, {**ENQUIRY, "message": "Another question"})
    post(client, headers={**JSON, "Idempotency-Key": "k-1"})

    tokens = [sent["ClientRequestToken"] for sent in transactions]
    assert all(1 <= len(token) <= 36 for token in tokens)
    # The same request within ten minutes: the same token; anything else: another.
    assert tokens[0] == tokens[1]
    assert len(set(tokens)) == 3
    assert len(stored_submissions()) == 3


def test_a_token_is_not_reused_in_the_next_ten_minutes(client, outbox, transactions, in_one_token_window):
    first = body(post(client))["reference"]
    in_one_token_window.offset += intake.REQUEST_WINDOW_SECONDS

    second = body(post(client))["reference"]

    assert transactions[0]["ClientRequestToken"] != transactions[1]["ClientRequestToken"]
    assert first != second


def erase_ada() -> None:
    cli.run(["erase", "--stage", "local", "--email", ENQUIRY["email"], "--yes"])


def test_the_same_submission_sent_again_after_an_erase_within_ten_minutes_is_stored(
    client, outbox, worker, in_one_token_window
):
    """DynamoDB has the request's token from before the erasure: the
    submission is stored anew, under another token."""
    body(post(client))
    worker()
    erase_ada()
    outbox.clear()
    in_one_token_window.offset += 60

    again = post(client)

    assert again.status_code == 202
    reference = body(again)["reference"]
    assert stored_submissions()[reference]["status"] == "received"
    worker()
    assert len(team_copies(outbox, reference)) == 1


def test_the_same_transaction_again_after_an_erase_is_stored_not_just_answered(
    client, outbox, worker, monkeypatch
):
    """The very same transaction (the same moment, to the millisecond): DynamoDB
    answers success and writes nothing, which must not pass for stored."""
    from chalicelib import clock

    moment = time.time()
    monkeypatch.setattr(clock, "now", lambda: moment)
    post(client)
    erase_ada()

    again = post(client)

    assert again.status_code == 202
    assert list(stored_submissions()) == [body(again)["reference"]]


# Lost answers -------------------------------------------------------------------------


def test_a_stored_submission_whose_answer_was_lost_is_a_202_with_its_reference(
    client, outbox, transactions, aws_calls, worker
):
    transactions.fail.append("lost")

    response = post(client)

    assert response.status_code == 202
    reference = body(response)["reference"]
    # Settled by one consistent read of the submission, then queued as usual.
    assert [name for _, name in aws_calls] == ["TransactWriteItems", "GetItem", "GetQueueUrl", "SendMessage"]
    assert list(stored_submissions()) == [reference]
    worker()
    assert len(team_copies(outbox, reference)) == 1


def test_the_visitor_sending_again_after_a_lost_answer_gets_the_same_reference_and_one_email(
    client, outbox, transactions, worker, in_one_token_window
):
    transactions.fail.append("lost")
    first = body(post(client))["reference"]
    in_one_token_window.offset += 45

    again = post(client)
    worker()

    assert again.status_code == 202
    assert body(again)["reference"] == first
    assert list(stored_submissions()) == [first]
    assert len(team_copies(outbox, first)) == 1


def test_dynamodb_refusing_a_reused_token_is_settled_by_reading_back(
    client, outbox, transactions, worker, in_one_token_window
):
    """What DynamoDB answers the same token with other arguments (a later
    created_at) within ten minutes: the earlier request stored it."""
    first = body(post(client))["reference"]
    worker()
    transactions.fail.append(client_error("IdempotentParameterMismatchException", "TransactWriteItems", 400))
    in_one_token_window.offset += 30

    again = post(client)

    assert again.status_code == 202
    assert body(again)["reference"] == first
    assert worker() == []  # not queued twice
    assert len(team_copies(outbox, first)) == 1


def test_a_timeout_that_stored_nothing_is_a_503_and_sending_again_stores_it_once(
    client, outbox, transactions, worker, in_one_token_window
):
    transactions.fail.append("timeout")

    response = post(client)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)
    assert "nothing has been sent" in body(response)["error"]["message"]
    assert stored_submissions() == {}

    in_one_token_window.offset += 20
    again = post(client)
    worker()
    assert again.status_code == 202
    assert len(team_copies(outbox, body(again)["reference"])) == 1


def test_when_the_read_back_fails_too_the_answer_is_503(client, outbox, transactions, aws_faults):
    transactions.fail.append("timeout")
    aws_faults["GetItem"] = read_timeout("dynamodb")

    response = post(client)

    assert response.status_code == 503
    assert "Retry-After" in response.headers


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com/"),
        client_error("ProvisionedThroughputExceededException", "TransactWriteItems"),
        client_error("ValidationException", "TransactWriteItems", 400),
    ],
)
def test_when_dynamodb_certainly_did_not_store_it_the_answer_is_503_without_a_read_back(
    client, outbox, transactions, aws_calls, failure
):
    transactions.fail.append(failure)

    response = post(client)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    error = body(response)["error"]
    assert error["code"] == "service_unavailable"
    assert "nothing has been sent" in error["message"]
    assert [name for _, name in aws_calls] == ["TransactWriteItems"]
    assert stored_submissions() == {}
    assert outbox == []


def test_a_5xx_from_dynamodb_is_settled_by_reading_back(client, outbox, transactions, aws_calls):
    transactions.fail.append(client_error("InternalServerError", "TransactWriteItems", 500))

    response = post(client)

    assert response.status_code == 503
    assert [name for _, name in aws_calls] == ["TransactWriteItems", "GetItem"]


def test_when_the_document_lookup_fails_the_answer_is_503(client, seeded, outbox, aws_faults):
    aws_faults["GetItem"] = read_timeout("dynamodb")

    response = post(
        client,
        {"email": "ada@example.com", "document_url": "/what-we-do/", "format": "audio"},
        path="/accessible-format-requests",
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert stored_submissions() == {}


def test_a_browser_is_told_in_a_page_when_dynamodb_fails(client, outbox, aws_faults):
    aws_faults["TransactWriteItems"] = client_error("ThrottlingException", "TransactWriteItems")

    response = client.http.post(
        "/enquiries",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=urlencode(ENQUIRY),
    )

    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_UNAVAILABLE)
    assert "nothing has been sent" in response.body.decode()


# The queue ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [read_timeout("sqs"), client_error("AWS.SimpleQueueService.NonExistentQueue", "SendMessage", 400)],
)
def test_a_queue_that_refuses_loses_nothing_the_retry_run_sends_it(
    client, outbox, aws_faults, worker, submissions_clock, capsys, failure
):
    aws_faults["SendMessage"] = failure

    response = post(client)

    assert response.status_code == 202
    reference = body(response)["reference"]
    assert '"event":"enqueue_failed"' in capsys.readouterr().out
    assert worker() == []
    del aws_faults["SendMessage"]

    run_scheduled_retry(client)
    assert outbox == []  # the queue's worker has the first minutes
    submissions_clock.offset = intake.QUEUE_GRACE_SECONDS + 1
    run_scheduled_retry(client)

    assert len(team_copies(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


@pytest.fixture
def slow_queue():
    """SQS answering nothing within any read timeout: each try botocore makes
    of SendMessage (its own retries included) is counted, then times out."""
    from botocore.exceptions import ReadTimeoutError

    tries: list[str] = []

    def time_out(request, **_) -> None:
        tries.append(request.url)
        raise ReadTimeoutError(endpoint_url=request.url)

    # On the session, whose handlers each client made after copies.
    session_events = aws._session().events
    session_events.register_first("before-send.sqs.SendMessage", time_out)
    aws.reset_clients()
    yield tries
    session_events.unregister("before-send.sqs.SendMessage", time_out)
    aws.reset_clients()


def test_a_slow_queue_holds_the_visitor_for_one_short_try(client, outbox, worker, slow_queue, capsys):
    response = post(client)

    assert response.status_code == 202
    # Behind API Gateway's 29 s: one try, of at most a few seconds.
    assert len(slow_queue) == 1
    assert aws.ENQUEUE_SECONDS <= 5
    assert '"event":"enqueue_failed"' in capsys.readouterr().out


def run_scheduled_retry(client):
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("retry_submissions", event)
