"""Never lost, never sent twice, on the sending side: the queue's worker, SES
slow, refusing or down, the retry run (scheduled and by hand), overlapping
and lapsed senders, the acknowledgement as its own step, and the staff tools."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import EndpointConnectionError
from conftest import (
    ENQUIRY,
    Killed,
    acknowledgements,
    body,
    post,
    stored_submissions,
    submissions_table_items,
    team_copies,
)
from fake_aws import client_error, read_timeout

from chalicelib.submissions import delivery, staff
from chalicelib.submissions.policy import POLICY
from chalicelib.tables import submissions_table
from nlc_tools import cli

TEAM = "nlc@cabinetoffice.gov.uk"


def accepted(client, data=ENQUIRY) -> str:
    response = post(client, data)
    assert response.status_code == 202
    return body(response)["reference"]


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


def accept_while_ses_is_down(client, aws_faults, worker, count=1):
    """Submissions the worker tried once while SES throttled every send."""
    aws_faults["SendEmail"] = client_error("Throttling")
    references = [accepted(client, {**ENQUIRY, "email": f"visitor{n}@example.com"}) for n in range(count)]
    worker()
    del aws_faults["SendEmail"]
    return references


@pytest.fixture
def ses(fake_aws, submissions_clock):
    """SES as a test scripts it: `ses.script(to, behaviour)` for the next
    send to that address, where behaviour is "refuse" (MessageRejected),
    "slow" (answers after `seconds` of the domain's clock), "lost" (sends,
    then the answer times out), "timeout" (times out, nothing sent) or
    "unavailable" (SES answers 503, nothing sent)."""

    class Script:
        def __init__(self) -> None:
            self.next: dict[str, list[str]] = {}
            self.seconds = 12.0

        def script(self, to: str, *behaviours: str) -> None:
            self.next.setdefault(to, []).extend(behaviours)

    scripted = Script()

    def sending(call) -> None:
        if call != ("SESv2", "SendEmail"):
            return
        [to] = call.params["Destination"]["ToAddresses"]
        behaviour = scripted.next.get(to, []).pop(0) if scripted.next.get(to) else "fine"
        if behaviour == "refuse":
            raise client_error("MessageRejected")
        if behaviour == "timeout":
            raise read_timeout()
        if behaviour == "unavailable":
            raise client_error("ServiceUnavailable", "SendEmail", 503)
        if behaviour == "slow":
            submissions_clock.offset += scripted.seconds
        if behaviour == "lost":
            fake_aws.fail("SendEmail", read_timeout(), times=1, lost_answer=True)

    fake_aws.before_call.append(sending)
    return scripted


# The worker -------------------------------------------------------------------------


def test_the_visitor_is_answered_once_stored_and_the_worker_sends_it(client, outbox, aws_calls, worker):
    reference = accepted(client)

    assert [call for call in aws_calls if call[0] == "SESv2"] == []
    assert stored_submissions()[reference]["status"] == "received"
    assert outbox == []

    assert worker() == [reference]

    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"], stored["last_error"]) == ("forwarded", 0, None)
    assert stored["acknowledged_at"] and stored["forwarded_at"]
    # The visitor hears first; each email once.
    assert [email["subject"] for email in outbox] == [
        f"We have received your enquiry: {reference}",
        f"Enquiry: {reference}",
    ]


def test_a_message_the_worker_sees_again_sends_nothing_more(client, outbox, worker):
    reference = accepted(client)
    worker()

    assert delivery.deliver_queued(reference) is None
    assert delivery.deliver_queued("not a reference") is None

    assert len(outbox) == 2


def test_the_same_message_handed_to_8_workers_at_once_is_sent_once(client, outbox, fake_aws):
    import threading

    reference = accepted(client)
    claims = threading.Barrier(8, timeout=30)

    def claim_together(call) -> None:
        if call == ("DynamoDB", "UpdateItem") and "#lease = :lease" in call.params["UpdateExpression"]:
            claims.wait()

    fake_aws.before_call.append(claim_together)
    outcomes: list[str | None] = []
    workers = [
        threading.Thread(target=lambda: outcomes.append(delivery.deliver_queued(reference))) for _ in range(8)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=60)

    assert (outcomes.count("forwarded"), outcomes.count(None)) == (1, 7)
    assert len(team_copies(outbox, reference)) == 1
    assert len(acknowledgements(outbox, reference)) == 1


def test_with_ses_taking_12_seconds_the_visitor_waits_for_nothing_and_the_team_gets_one_copy(
    client, outbox, aws_calls, worker, ses
):
    ses.script(TEAM, "slow")
    ses.script("ada@example.com", "slow")

    reference = accepted(client)
    assert [name for service, name in aws_calls] == ["TransactWriteItems", "GetQueueUrl", "SendMessage"]

    worker()
    run_scheduled_retry(client)

    assert len(team_copies(outbox, reference)) == 1
    assert len(acknowledgements(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


# SES outages -----------------------------------------------------------------------


def test_when_ses_fails_the_visitor_still_gets_a_reference_and_the_submission_waits(
    client, outbox, ses_down, worker, capsys
):
    reference = accepted(client)
    worker()

    stored = stored_submissions()[reference]
    assert stored["status"] == "received"
    assert stored["attempts"] == 1
    assert stored["last_error"] == "ServiceUnavailable"
    assert outbox == []
    out = capsys.readouterr().out
    assert f'"event":"send_failed","reference":"{reference}","status":"received"' in out
    assert '"error":"ServiceUnavailable"' in out


def test_after_an_ses_outage_the_retry_command_delivers_each_submission_exactly_once(
    client, outbox, aws_faults, worker
):
    references = accept_while_ses_is_down(client, aws_faults, worker, count=3)
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
    # Throttling certainly sent nothing, so each visitor was acknowledged once, by the retry.
    assert sorted(email["to"][0] for email in outbox if email["to"] != [TEAM]) == [
        f"visitor{n}@example.com" for n in range(3)
    ]


def test_the_scheduled_retry_waits_for_each_submissions_backoff(
    client, outbox, aws_faults, worker, submissions_clock
):
    [reference] = accept_while_ses_is_down(client, aws_faults, worker)

    run_scheduled_retry(client)
    assert outbox == []

    submissions_clock.offset = POLICY.delays[0] + 1
    run_scheduled_retry(client)
    assert len(team_copies(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


def test_after_the_last_attempt_a_submission_is_failed_listed_and_counted(
    client, outbox, ses_down, worker, capsys
):
    reference = accepted(client)
    worker()
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


def test_a_permanent_refusal_fails_at_once_is_listed_and_is_sent_once_when_mended(
    client, outbox, ses, worker, capsys
):
    ses.script(TEAM, "refuse")

    reference = accepted(client)
    worker()

    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"], stored["last_error"]) == ("failed", 1, "MessageRejected")
    out = capsys.readouterr().out
    assert '"FailedForwards":1' in out and '"error":"MessageRejected"' in out
    # Nothing left for the retry run: staff mend the fault, then send it by hand.
    assert retry().startswith("0 forwarded")
    listing = printed(cli.run(["submissions", "--stage", "local", "--status", "failed"]))
    assert f"{reference}  enquiry" in listing and "last error MessageRejected" in listing
    assert team_copies(outbox, reference) == []

    assert retry("--reference", reference) == f"{reference}: forwarded\n"

    assert len(team_copies(outbox, reference)) == 1
    with pytest.raises(cli.CommandError, match="forwarded already"):
        retry("--reference", reference)
    assert len(team_copies(outbox, reference)) == 1
    # The visitor heard at once, while the team's mailbox refused, and only once.
    assert len(acknowledgements(outbox, reference)) == 1


def test_retrying_an_unknown_reference_says_so(client):
    with pytest.raises(cli.CommandError, match="There is no submission with reference NLC-2222-2222"):
        retry("--reference", "NLC-2222-2222")
    with pytest.raises(cli.CommandError, match="There is no submission"):
        retry("--reference", "'; DROP TABLE")


# The acknowledgement, its own step ------------------------------------------------


def test_a_refused_acknowledgement_never_fails_the_submission(client, outbox, ses, worker, capsys):
    ses.script("ada@example.com", "refuse")

    reference = accepted(client)
    worker()
    retry()

    stored = stored_submissions()[reference]
    assert stored["status"] == "forwarded"
    assert stored["acknowledged_at"] is None
    assert len(team_copies(outbox, reference)) == 1
    assert '"event":"acknowledgement_failed"' in capsys.readouterr().out


def test_after_a_short_ses_outage_the_visitor_is_acknowledged_and_the_team_gets_one_copy(
    client, outbox, aws_faults, worker
):
    """SES answering 503 sent nothing: both emails are tried again."""
    aws_faults["SendEmail"] = client_error("ServiceUnavailable", "SendEmail", 503)
    reference = accepted(client)
    worker()
    assert outbox == []
    assert stored_submissions()[reference]["last_error"] == "ServiceUnavailable"
    del aws_faults["SendEmail"]
    retry()

    assert len(acknowledgements(outbox, reference)) == 1
    assert len(team_copies(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


def test_an_acknowledgement_ses_refused_for_now_is_sent_before_the_team_copy_next_time(
    client, outbox, ses, worker
):
    """SES throttled the acknowledgement only: the team's copy waits for
    the next attempt, which sends both, the visitor's first."""
    ses.script("ada@example.com", "unavailable")

    reference = accepted(client)
    worker()
    assert outbox == []
    retry()

    assert [email["subject"] for email in outbox] == [
        f"We have received your enquiry: {reference}",
        f"Enquiry: {reference}",
    ]


def test_an_acknowledgement_whose_answer_was_lost_is_never_sent_again(client, outbox, ses, worker):
    ses.script("ada@example.com", "timeout")
    ses.script(TEAM, "timeout")

    reference = accepted(client)
    worker()
    retry()

    # The team's copy is tried again (at least once); the acknowledgement
    # (perhaps sent) is not (at most once).
    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"]) == ("forwarded", 1)
    assert len(team_copies(outbox, reference)) == 1
    assert acknowledgements(outbox, reference) == []


def fail_the_write_after_the_sends(fake_aws):
    return fake_aws.fail(
        "UpdateItem",
        client_error("InternalServerError", "UpdateItem"),
        when=lambda params: "REMOVE #claim" in params["UpdateExpression"],
    )


def test_when_the_status_write_fails_after_the_send_ses_send_event_records_both_emails(
    client, outbox, worker, fake_aws, submissions_clock, send_events, capsys
):
    """SES accepts both emails, then DynamoDB refuses the write that records
    them: SES's Send events record them, so the sender that takes over once
    the claim lapses sends neither again."""
    reference = accepted(client)
    release_fails = fail_the_write_after_the_sends(fake_aws)
    worker()
    fake_aws.heal(release_fails)
    assert '"event":"forwarded.not_recorded"' in capsys.readouterr().out
    send_events.deliver()

    submissions_clock.offset = POLICY.claim_seconds + 1
    assert delivery.retry_pending(ignore_backoff=True).forwarded == []

    assert len(acknowledgements(outbox, reference)) == 1
    assert len(team_copies(outbox, reference)) == 1
    stored = stored_submissions()[reference]
    assert (stored["status"], stored["team_mail"]) == ("forwarded", "sent")
    assert stored["forwarded_at"] and stored["acknowledged_at"]


def test_a_sender_killed_after_ses_took_the_team_copy_never_has_it_sent_twice(
    client, outbox, fake_aws, submissions_clock, send_events
):
    reference = accepted(client)
    fake_aws.fail("SendEmail", Killed(), when=lambda params: params["Destination"]["ToAddresses"] == [TEAM],
                  lost_answer=True, times=1)  # fmt: skip
    with pytest.raises(Killed):
        delivery.deliver_queued(reference)
    send_events.deliver()

    submissions_clock.offset = POLICY.claim_seconds + intake_grace()
    assert delivery.retry_pending().forwarded == []

    assert len(team_copies(outbox, reference)) == 1
    assert len(acknowledgements(outbox, reference)) == 1
    assert stored_submissions()[reference]["status"] == "forwarded"


def test_a_send_event_not_recorded_before_the_claim_lapses_leaves_both_emails_to_go_twice(
    client, outbox, worker, fake_aws, submissions_clock, send_events
):
    """The window that remains, as docs/forms.md says: SES's Send event has
    not been recorded within the claim's 300 s."""
    reference = accepted(client)
    release_fails = fail_the_write_after_the_sends(fake_aws)
    worker()
    fake_aws.heal(release_fails)

    submissions_clock.offset = POLICY.claim_seconds + 1
    assert delivery.retry_pending().forwarded == [reference]
    send_events.deliver()

    assert len(team_copies(outbox, reference)) == 2
    assert len(acknowledgements(outbox, reference)) == 2
    assert stored_submissions()[reference]["status"] == "forwarded"


# Outcomes unknown ---------------------------------------------------------------------


def test_an_attempt_whose_answer_was_lost_is_recorded_as_such_and_tried_again(client, outbox, ses, worker):
    ses.script(TEAM, "timeout")

    reference = accepted(client)
    worker()

    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"]) == ("received", 1)
    assert stored["last_error"] == "outcome unknown: ReadTimeoutError"
    assert (
        retry()
        == f"{reference}: forwarded\n"
        + "1 forwarded, 0 to try again later, 0 failed for good, 0 being sent elsewhere (skipped).\n"
    )
    assert len(team_copies(outbox, reference)) == 1


def test_a_send_ses_accepted_but_whose_answer_was_lost_may_reach_the_team_twice(client, outbox, ses, worker):
    """What remains possible, as docs/forms.md says: SES has no idempotency
    token, so a send whose answer was lost is sent again."""
    ses.script(TEAM, "lost")

    reference = accepted(client)
    worker()
    retry()

    assert len(team_copies(outbox, reference)) == 2
    assert len(acknowledgements(outbox, reference)) == 1


# Claims --------------------------------------------------------------------------------


def test_a_sender_whose_claim_has_lapsed_sends_nothing(client, outbox, submissions_clock, capsys):
    reference = accepted(client)
    submissions_clock.offset = intake_grace()
    submission, claim = delivery.claim(reference, ("received",), due_only=True)

    submissions_clock.offset += POLICY.claim_seconds + 1
    assert delivery.deliver(submission, claim) == "received"

    assert outbox == []
    assert '"event":"claim_lapsed"' in capsys.readouterr().out
    # Whoever holds it next sends it, once, and acknowledges it.
    assert delivery.retry_pending().forwarded == [reference]
    assert len(team_copies(outbox, reference)) == 1
    assert len(acknowledgements(outbox, reference)) == 1


def test_a_claim_that_lapses_during_a_slow_send_stops_the_sender_before_the_next(
    client, outbox, ses, worker, submissions_clock
):
    ses.seconds = POLICY.claim_seconds  # SES answers the acknowledgement as the claim runs out
    ses.script("ada@example.com", "slow")

    reference = accepted(client)
    worker()

    assert team_copies(outbox, reference) == []
    stored = stored_submissions()[reference]
    assert (stored["status"], stored["attempts"]) == ("received", 0)
    assert stored["acknowledged_at"]
    submissions_clock.offset = POLICY.claim_seconds + intake_grace()
    assert delivery.retry_pending().forwarded == [reference]
    assert len(team_copies(outbox, reference)) == 1
    assert len(acknowledgements(outbox, reference)) == 1


def intake_grace() -> int:
    from chalicelib.submissions import intake

    return intake.QUEUE_GRACE_SECONDS + 1


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
    client, outbox, aws_faults, worker, overlapping_run
):
    [reference] = accept_while_ses_is_down(client, aws_faults, worker)
    overlapping_run.clear()

    first = delivery.retry_pending(ignore_backoff=True)

    assert first.forwarded == [reference]
    assert overlapping_run[0].skipped == [reference] and overlapping_run[0].forwarded == []
    assert len(team_copies(outbox, reference)) == 1


def test_a_retry_run_working_from_a_stale_list_never_sends_twice(
    client, outbox, aws_faults, worker, monkeypatch
):
    references = accept_while_ses_is_down(client, aws_faults, worker, count=2)
    stale = submissions_table.with_status("received")
    monkeypatch.setattr(submissions_table, "with_status", lambda status: stale)

    first = delivery.retry_pending(ignore_backoff=True)
    second = delivery.retry_pending(ignore_backoff=True)

    assert sorted(first.forwarded) == sorted(references)
    assert sorted(second.skipped) == sorted(references) and second.forwarded == []
    for reference in references:
        assert len(team_copies(outbox, reference)) == 1


def test_a_retry_run_leaves_alone_a_submission_the_worker_is_still_sending(
    client, outbox, worker, overlapping_run
):
    reference = accepted(client)
    worker()

    assert overlapping_run[0].skipped == [reference]
    assert len(team_copies(outbox, reference)) == 1


def accept_and_die_before_sending(client, worker) -> str:
    """A submission whose worker claims it, then dies."""
    reference = accepted(client)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(delivery, "deliver", lambda submission, claim: None)
        worker()
    return reference


def test_a_submission_whose_sender_died_is_sent_once_its_claim_expires(
    client, outbox, worker, submissions_clock
):
    reference = accept_and_die_before_sending(client, worker)
    assert outbox == []

    assert delivery.retry_pending(ignore_backoff=True).skipped == [reference]

    submissions_clock.offset = POLICY.claim_seconds + 1
    assert delivery.retry_pending().forwarded == [reference]
    assert len(team_copies(outbox, reference)) == 1


def test_a_sender_that_died_before_the_acknowledgement_leaves_it_to_the_next(
    client, outbox, worker, submissions_clock
):
    reference = accept_and_die_before_sending(client, worker)

    submissions_clock.offset = POLICY.claim_seconds + 1
    assert delivery.retry_pending().forwarded == [reference]

    assert len(acknowledgements(outbox, reference)) == 1
    assert stored_submissions()[reference]["acknowledged_at"]


def test_sending_a_submission_held_by_another_sender_is_refused(client, outbox, worker):
    reference = accept_and_die_before_sending(client, worker)

    with pytest.raises(cli.CommandError, match="being sent right now"):
        retry("--reference", reference)
    assert outbox == []


# Restrict and erase while a sender is sending ---------------------------------------------


@pytest.fixture
def during_send(fake_aws):
    """Run a person's data request as SES is given the next email to `to`:
    `during_send(to, "restrict")`."""

    def arrange(to: str, *args: str) -> None:
        def request(call) -> None:
            if call == ("SESv2", "SendEmail") and call.params["Destination"]["ToAddresses"] == [to]:
                fake_aws.before_call.remove(request)
                cli.run([*args, "--stage", "local", "--email", ENQUIRY["email"], "--yes"])

        fake_aws.before_call.append(request)

    return arrange


def test_restricting_during_the_send_then_lifting_sends_the_team_one_copy(
    client, outbox, worker, during_send
):
    during_send(TEAM, "restrict")
    reference = accepted(client)
    worker()
    assert stored_submissions()[reference]["status"] == "restricted"

    cli.run(["restrict", "--stage", "local", "--email", ENQUIRY["email"], "--lift", "--yes"])
    worker()
    delivery.retry_pending(ignore_backoff=True)

    assert stored_submissions()[reference]["status"] == "forwarded"
    assert len(team_copies(outbox, reference)) == 1


def message_records() -> list[dict]:
    return [item for item in submissions_table_items() if item["pk"]["S"].startswith("message#")]


def kept_of_ada() -> list[dict]:
    """What the table holds of Ada's submission: all but the counter of her IP's requests."""
    return [item for item in submissions_table_items() if not item["pk"]["S"].startswith("rate#ip#")]


def test_erasing_during_the_acknowledgement_sends_the_team_nothing_and_keeps_nothing(
    client, outbox, worker, during_send, capsys
):
    during_send("ada@example.com", "erase")
    reference = accepted(client)
    worker()

    assert team_copies(outbox, reference) == []
    assert kept_of_ada() == []
    logged = capsys.readouterr().out
    assert '"event":"acknowledgement_message_id.not_recorded"' in logged
    assert "ada@example.com" not in logged


def test_erasing_during_the_team_send_keeps_nothing_after(client, outbox, worker, during_send):
    during_send(TEAM, "erase")
    reference = accepted(client)
    worker()

    assert len(team_copies(outbox, reference)) == 1  # SES had it already
    assert kept_of_ada() == []


def test_erase_removes_the_record_of_each_email_sent(client, outbox, worker):
    accepted(client)
    worker()
    assert len(message_records()) == 2

    cli.run(["erase", "--stage", "local", "--email", ENQUIRY["email"], "--yes"])

    assert message_records() == []


def test_a_restricted_submission_is_not_sent_by_a_sender_that_claimed_it_before(client, outbox):
    reference = accepted(client)
    claimed = delivery.claim(reference, ("received",), due_only=False)
    cli.run(["restrict", "--stage", "local", "--email", ENQUIRY["email"], "--yes"])

    assert delivery.deliver(*claimed) == "restricted"

    assert outbox == []
    assert stored_submissions()[reference]["status"] == "restricted"


# The retry run's own limits ------------------------------------------------------------


def test_a_slow_or_timed_out_item_does_not_stop_the_retry_command(client, outbox, aws_faults, worker, ses):
    references = accept_while_ses_is_down(client, aws_faults, worker, count=3)
    ses.script("visitor0@example.com", "timeout")
    ses.script(TEAM, "timeout")

    output = retry()

    assert f"{references[0]}: still failing, will try again" in output
    for reference in references[1:]:
        assert f"{reference}: forwarded" in output
    # The next run sends the one left, and ends well (a failure would raise).
    assert f"{references[0]}: forwarded" in retry()
    assert all(len(team_copies(outbox, reference)) == 1 for reference in references)


def test_the_retry_command_keeps_to_the_scheduled_runs_time_and_leaves_the_rest(
    client, outbox, aws_faults, worker, ses
):
    references = accept_while_ses_is_down(client, aws_faults, worker, count=4)
    ses.seconds = 30  # each delivery (two sends) takes a minute
    for n in range(4):
        ses.script(f"visitor{n}@example.com", "slow")
        ses.script(TEAM, "slow")

    first = retry()

    # A delivery may take DELIVERY_SECONDS: none starts that might end after RUN_SECONDS.
    assert delivery.RUN_SECONDS - delivery.DELIVERY_SECONDS in range(60, 120)
    sent, left = references[:2], references[2:]
    assert (
        first
        == "".join(f"{reference}: forwarded\n" for reference in sent)
        + "".join(f"{reference}: left for the next run\n" for reference in left)
        + "2 forwarded, 0 to try again later, 0 failed for good, 0 being sent elsewhere (skipped). "
        "2 left for the next run (out of time).\n"
    )
    assert retry().startswith("".join(f"{reference}: forwarded\n" for reference in left))
    assert all(len(team_copies(outbox, reference)) == 1 for reference in references)


def test_when_dynamodb_fails_the_retry_command_says_so_and_sends_nothing(client, outbox, aws_faults, worker):
    accept_while_ses_is_down(client, aws_faults, worker)
    aws_faults["Query"] = EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-2.amazonaws.com/")

    with pytest.raises(cli.CommandError, match="The submissions table cannot be reached just now"):
        retry()
    assert cli.main(["retry", "--stage", "local"]) == 1
    assert outbox == []


# Listing -----------------------------------------------------------------------------


def test_submissions_are_listed_by_status_oldest_first(client, outbox, aws_faults, worker):
    first = accepted(client)
    second = accepted(client, {**ENQUIRY, "email": "grace@example.com"})
    worker()
    [waiting] = accept_while_ses_is_down(client, aws_faults, worker)

    assert [row["reference"] for row in staff.list_submissions("forwarded")] == [first, second]
    assert [row["reference"] for row in staff.list_submissions("received")] == [waiting]
    assert staff.list_submissions("spam") == []

    everything = printed(cli.run(["submissions", "--stage", "local"]))
    assert everything.splitlines()[-1] == "3 submission(s)."
    full = json.loads(cli.run(["submissions", "--stage", "local", "--status", "forwarded", "--json"]))
    assert full[0]["fields"] == ENQUIRY
    assert full[0]["recipient"] == TEAM
    assert "claim" not in full[0] and "acknowledged_by" not in full[0]


def test_staff_are_told_when_the_submissions_table_cannot_be_reached(client, aws_faults):
    aws_faults["Query"] = client_error("InternalServerError", "Query")

    with pytest.raises(cli.CommandError, match="The submissions table cannot be reached just now"):
        cli.run(["submissions", "--stage", "local", "--status", "failed"])


def test_an_unknown_status_is_refused(client, capsys):
    with pytest.raises(SystemExit) as usage_error:
        cli.run(["submissions", "--stage", "local", "--status", "lost"])
    assert usage_error.value.code == 2
    assert "choose from 'received', 'forwarded', 'failed', 'spam'" in capsys.readouterr().err
