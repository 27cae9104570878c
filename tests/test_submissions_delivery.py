"""Never lost, never sent twice: SES and DynamoDB outages, the retry run
(scheduled and by hand), overlapping runs, and the staff tools."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import body, client_error, stored_submissions

from chalicelib.submissions import delivery, staff
from chalicelib.submissions.errors import RETRY_AFTER_UNAVAILABLE
from chalicelib.submissions.policy import POLICY
from chalicelib.tables import submissions_table
from nlc_tools import cli

JSON = {"Content-Type": "application/json"}
ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}
TEAM = "nlc@cabinetoffice.gov.uk"


def post(client, data=ENQUIRY, path="/enquiries", headers=JSON):
    return client.http.post(path, headers=headers, body=json.dumps(data))


def team_copies(outbox, reference):
    return [email for email in outbox if email["to"] == [TEAM] and reference in email["subject"]]


def retry(*args: str) -> str:
    """What `nlc-api retry` prints for people, without the JSON log lines."""
    return printed(cli.run(["retry", "--stage", "local", *args]))


def printed(output: str) -> str:
    return "".join(line for line in output.splitlines(keepends=True) if not line.startswith("{"))


def run_scheduled_retry(client):
    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("retry_submissions", event)


@pytest.fixture
def ses_down(aws_faults):
    aws_faults["SendEmail"] = client_error("ServiceUnavailable")
    yield aws_faults
    aws_faults.pop("SendEmail", None)


def accept_while_ses_is_down(client, aws_faults, count=1):
    aws_faults["SendEmail"] = client_error("Throttling")
    references = [
        body(post(client, {**ENQUIRY, "email": f"visitor{n}@example.com"}))["reference"] for n in range(count)
    ]
    del aws_faults["SendEmail"]
    return references


# SES outages -----------------------------------------------------------------------


def test_when_ses_fails_the_visitor_still_gets_a_reference_and_the_submission_waits(
    client, outbox, ses_down, capsys
):
    response = post(client)

    assert response.status_code == 202
    reference = body(response)["reference"]
    stored = stored_submissions()[reference]
    assert stored["status"] == "received"
    assert stored["attempts"] == 1
    assert stored["last_error"] == "ServiceUnavailable"
    assert outbox == []
    out = capsys.readouterr().out
    assert f'"event":"send_failed","reference":"{reference}","status":"received"' in out
    assert '"error":"ServiceUnavailable"' in out


def test_a_browser_post_is_redirected_as_usual_when_ses_fails(client, outbox, ses_down):
    response = client.http.post(
        "/enquiries",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
        body=urlencode(ENQUIRY),
    )
    assert response.status_code == 303


def test_after_an_ses_outage_the_retry_command_delivers_each_submission_exactly_once(
    client, outbox, aws_faults
):
    references = accept_while_ses_is_down(client, aws_faults, count=3)
    assert outbox == []

    output = retry()
    again = retry()

    for reference in references:
        assert f"{reference}: forwarded" in output
        assert len(team_copies(outbox, reference)) == 1
        assert stored_submissions()[reference]["status"] == "forwarded"
        assert stored_submissions()[reference]["last_error"] is None
    assert output.endswith(
        "3 forwarded, 0 to try again later, 0 failed for good, 0 being sent elsewhere (skipped).\n"
    )
    assert (
        again == "0 forwarded, 0 to try again later, 0 failed for good, 0 being sent elsewhere (skipped).\n"
    )
    # Each visitor was acknowledged once, too.
    assert sorted(email["to"][0] for email in outbox if email["to"] != [TEAM]) == [
        f"visitor{n}@example.com" for n in range(3)
    ]


def test_the_scheduled_retry_waits_for_each_submissions_backoff(
    client, outbox, aws_faults, submissions_clock
):
    [reference] = accept_while_ses_is_down(client, aws_faults)

    run_scheduled_retry(client)
    assert outbox == []

    submissions_clock.offset = POLICY.delays[0] + 1
    run_scheduled_retry(client)
    assert len(team_copies(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


def test_after_the_last_attempt_a_submission_is_failed_listed_and_counted(client, outbox, ses_down, capsys):
    reference = body(post(client))["reference"]
    for _ in range(POLICY.max_attempts - 2):
        assert f"{reference}: still failing" in retry()
    assert stored_submissions()[reference]["status"] == "received"

    output = cli.run(["retry", "--stage", "local"])

    assert f"{reference}: failed for good" in output
    stored = stored_submissions()[reference]
    assert stored["status"] == "failed"
    assert stored["attempts"] == POLICY.max_attempts
    # Log lines go to stderr, leaving stdout to the command's results.
    metric = [json.loads(line) for line in capsys.readouterr().err.splitlines() if "FailedForwards" in line]
    assert len(metric) == 1 and metric[0]["FailedForwards"] == 1
    # A failed submission is left for staff: the retry run no longer tries it.
    assert retry().startswith("0 forwarded")

    listing = printed(cli.run(["submissions", "--stage", "local", "--status", "failed"]))
    assert listing.splitlines()[0].startswith(f"{reference}  enquiry")
    assert f"attempts {POLICY.max_attempts}  last error ServiceUnavailable" in listing
    assert "ada@example.com" not in listing
    assert listing.splitlines()[-1] == "1 submission(s) with status failed."
    assert outbox == []


def test_a_permanent_refusal_fails_the_submission_at_once_and_counts_it(client, outbox, aws_faults, capsys):
    aws_faults["SendEmail"] = client_error("MessageRejected")

    response = post(client)

    assert response.status_code == 202
    reference = body(response)["reference"]
    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"], stored["last_error"]) == ("failed", 1, "MessageRejected")
    printed_lines = capsys.readouterr().out
    assert '"FailedForwards":1' in printed_lines
    # Nothing left for the retry run: staff mend the fault, then send it by hand.
    assert retry().startswith("0 forwarded")
    assert outbox == []


def test_staff_can_send_a_failed_submission_once_ses_is_back(client, outbox, aws_faults):
    aws_faults["SendEmail"] = client_error("MessageRejected")
    reference = body(post(client))["reference"]
    assert stored_submissions()[reference]["status"] == "failed"
    del aws_faults["SendEmail"]

    output = retry("--reference", reference)

    assert output == f"{reference}: forwarded\n"
    assert len(team_copies(outbox, reference)) == 1
    with pytest.raises(cli.CommandError, match="forwarded already"):
        retry("--reference", reference)
    assert len(team_copies(outbox, reference)) == 1


def test_retrying_an_unknown_reference_says_so(client):
    with pytest.raises(cli.CommandError, match="There is no submission with reference NLC-2222-2222"):
        retry("--reference", "NLC-2222-2222")
    with pytest.raises(cli.CommandError, match="There is no submission"):
        retry("--reference", "'; DROP TABLE")


def test_a_failed_acknowledgement_does_not_resend_the_team_copy(client, outbox, fake_aws, capsys):
    fake_aws.fail(
        "SendEmail",
        client_error("MessageRejected"),
        when=lambda params: params["Destination"]["ToAddresses"] == ["ada@example.com"],
    )

    reference = body(post(client))["reference"]
    retry()

    stored = stored_submissions()[reference]
    assert stored["status"] == "forwarded"
    assert stored["acknowledged_at"] is None
    assert len(team_copies(outbox, reference)) == 1
    assert '"event":"acknowledgement_failed"' in capsys.readouterr().out


# Overlapping senders ------------------------------------------------------------------


@pytest.fixture
def overlapping_run(fake_aws) -> list[delivery.RetryReport]:
    """Start a retry run in the middle of the next send; its report lands here."""
    reports: list[delivery.RetryReport] = []

    def send_while_another_run_starts(call):
        if call == ("SESv2", "SendEmail") and not reports:
            reports.append(delivery.retry_pending(ignore_backoff=True))

    fake_aws.before_call.append(send_while_another_run_starts)
    return reports


def test_a_retry_run_during_another_runs_send_skips_what_that_run_holds(
    client, outbox, aws_faults, overlapping_run
):
    [reference] = accept_while_ses_is_down(client, aws_faults)
    overlapping_run.clear()

    first = delivery.retry_pending(ignore_backoff=True)

    assert first.forwarded == [reference]
    assert overlapping_run[0].skipped == [reference] and overlapping_run[0].forwarded == []
    assert len(team_copies(outbox, reference)) == 1


def test_a_retry_run_working_from_a_stale_list_never_sends_twice(client, outbox, aws_faults, monkeypatch):
    references = accept_while_ses_is_down(client, aws_faults, count=2)
    stale = submissions_table.with_status("received")
    monkeypatch.setattr(submissions_table, "with_status", lambda status: stale)

    first = delivery.retry_pending(ignore_backoff=True)
    second = delivery.retry_pending(ignore_backoff=True)

    assert sorted(first.forwarded) == sorted(references)
    assert sorted(second.skipped) == sorted(references) and second.forwarded == []
    for reference in references:
        assert len(team_copies(outbox, reference)) == 1


def test_a_retry_run_leaves_alone_a_submission_a_request_is_still_sending(client, outbox, overlapping_run):
    reference = body(post(client))["reference"]

    assert overlapping_run[0].skipped == [reference]
    assert len(team_copies(outbox, reference)) == 1


def accept_and_die_before_sending(client) -> str:
    """A request that stores its submission, then its Lambda dies."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "deliver", lambda submission, claim: None)
        return body(post(client))["reference"]


def test_a_submission_whose_sender_died_is_sent_once_its_claim_expires(client, outbox, submissions_clock):
    reference = accept_and_die_before_sending(client)
    assert outbox == []

    assert delivery.retry_pending(ignore_backoff=True).skipped == [reference]

    submissions_clock.offset = POLICY.claim_seconds + 1
    assert delivery.retry_pending().forwarded == [reference]
    assert len(team_copies(outbox, reference)) == 1


def test_sending_a_submission_held_by_another_sender_is_refused(client, outbox):
    reference = accept_and_die_before_sending(client)

    with pytest.raises(cli.CommandError, match="being sent right now"):
        retry("--reference", reference)
    assert outbox == []


# DynamoDB outages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com/"),
        client_error("ProvisionedThroughputExceededException", "TransactWriteItems"),
        client_error("InternalServerError", "TransactWriteItems"),
    ],
)
def test_when_dynamodb_fails_the_answer_is_503_with_retry_after_and_nothing_is_sent(
    client, outbox, aws_faults, failure
):
    aws_faults["TransactWriteItems"] = failure

    response = post(client)

    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    error = body(response)["error"]
    assert error["code"] == "service_unavailable"
    assert "nothing has been sent" in error["message"]
    assert outbox == []
    del aws_faults["TransactWriteItems"]
    assert stored_submissions() == {}


def test_when_the_document_lookup_fails_the_answer_is_503(client, seeded, outbox, aws_faults):
    aws_faults["GetItem"] = EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com/")

    response = post(
        client,
        {"email": "ada@example.com", "document_url": "/what-we-do/", "format": "audio"},
        path="/accessible-format-requests",
    )

    assert response.status_code == 503
    assert "Retry-After" in response.headers
    assert outbox == []


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


def test_when_dynamodb_fails_after_the_send_the_visitor_still_gets_a_reference(
    client, outbox, aws_faults, capsys
):
    aws_faults["UpdateItem"] = client_error("InternalServerError", "UpdateItem")

    response = post(client)

    assert response.status_code == 202
    reference = body(response)["reference"]
    assert len(team_copies(outbox, reference)) == 1
    assert '"event":"forwarded.not_recorded"' in capsys.readouterr().out


def test_when_dynamodb_fails_the_retry_run_stops_without_sending(client, outbox, aws_faults):
    accept_while_ses_is_down(client, aws_faults)
    aws_faults["Query"] = EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com/")

    with pytest.raises(EndpointConnectionError):
        retry()
    assert outbox == []


# Listing -----------------------------------------------------------------------------


def test_submissions_are_listed_by_status_oldest_first(client, outbox, aws_faults):
    first = body(post(client))["reference"]
    second = body(post(client, {**ENQUIRY, "email": "grace@example.com"}))["reference"]
    [waiting] = accept_while_ses_is_down(client, aws_faults)

    assert [row["reference"] for row in staff.list_submissions("forwarded")] == [first, second]
    assert [row["reference"] for row in staff.list_submissions("received")] == [waiting]
    assert staff.list_submissions("spam") == []

    everything = printed(cli.run(["submissions", "--stage", "local"]))
    assert everything.splitlines()[-1] == "3 submission(s)."
    full = json.loads(cli.run(["submissions", "--stage", "local", "--status", "forwarded", "--json"]))
    assert full[0]["fields"] == ENQUIRY
    assert full[0]["recipient"] == TEAM


def test_staff_are_told_when_the_submissions_table_cannot_be_reached(client, aws_faults):
    aws_faults["Query"] = client_error("InternalServerError", "Query")

    with pytest.raises(cli.CommandError, match="The submissions table cannot be reached just now"):
        cli.run(["submissions", "--stage", "local", "--status", "failed"])


def test_an_unknown_status_is_refused(client, capsys):
    with pytest.raises(SystemExit) as usage_error:
        cli.run(["submissions", "--stage", "local", "--status", "lost"])
    assert usage_error.value.code == 2
    assert "choose from 'received', 'forwarded', 'failed', 'spam'" in capsys.readouterr().err
