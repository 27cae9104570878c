"""A person's rights over their submissions, as staff answer them: find,
copy, restrict and erase everything from one address (any letter case, a
+tag ignored), by the CLI and the IAM-signed route, and the backfill that
makes submissions stored before the address index findable."""

from __future__ import annotations

import io
import json

import pytest
from conftest import body, stored_submissions, submissions_table_items, team_copies
from fake_aws import client_error

from chalicelib import aws
from chalicelib.settings import get_settings
from nlc_tools import cli

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")

JSON = {"Content-Type": "application/json"}
ADA = ("ada@example.com", "Ada@Example.com", "ada+news@example.com")
OTHER = "grace@example.com"


def submit(client, email: str, message: str = "How do I join?", key: str | None = None) -> str:
    headers = {**JSON, **({"Idempotency-Key": key} if key else {})}
    response = client.http.post(
        "/enquiries", headers=headers, body=json.dumps({"name": "Ada", "email": email, "message": message})
    )
    assert response.status_code == 202, response.body
    return body(response)["reference"]


@pytest.fixture
def four(client, aws_faults, submissions_clock):
    """Three submissions from Ada (one with an Idempotency-Key), one from
    Grace, all stored while SES throttles, so none is sent yet."""
    aws_faults["SendEmail"] = client_error("Throttling")
    ada = [
        submit(client, email, f"Message {n}", key="k-1" if n == 0 else None) for n, email in enumerate(ADA)
    ]
    return ada, submit(client, OTHER)


def cli_run(*args: str) -> str:
    return cli.run([*args, "--stage", "local"])


def listed(email: str) -> list[str]:
    output = cli_run("submissions", "--email", email)
    return [line.split()[0] for line in output.splitlines() if line.startswith("NLC-")]


def test_an_address_finds_its_submissions_whatever_the_case_or_tag(four):
    ada, grace = four
    assert listed("ADA+anything@example.COM") == ada
    assert listed(OTHER) == [grace]
    assert listed("nobody@example.com") == []


def test_export_holds_every_submission_with_its_fields_and_delivery_record(four):
    ada, _ = four
    exported = json.loads(cli_run("export", "--email", "ada@example.com"))
    assert [found["reference"] for found in exported["submissions"]] == ada
    first = exported["submissions"][0]
    assert first["fields"] == {"name": "Ada", "email": "ada@example.com", "message": "Message 0"}
    assert first["status"] == "received" and first["recipient"]
    assert first["created_at"] < first["expires_at"]
    assert {"attempts", "last_error", "forwarded_at", "acknowledged_at"} <= set(first)


def test_a_restricted_submission_is_never_sent_and_listed_only_by_its_address(
    client, four, aws_faults, worker, outbox
):
    ada, grace = four
    assert "This will restrict" in cli_run("restrict", "--email", "ada@example.com", "--dry-run")
    assert {found["status"] for found in stored_submissions().values()} == {"received"}
    assert "Restricted 3 submission(s)" in cli_run("restrict", "--email", "ADA@example.com", "--yes")
    del aws_faults["SendEmail"]  # SES is back
    worker()
    retried = cli_run("retry")
    assert not any(reference in retried for reference in ada)
    assert all(team_copies(outbox, reference) == [] for reference in ada)
    assert len(team_copies(outbox, grace)) == 1
    stored = stored_submissions()
    assert {stored[reference]["status"] for reference in ada} == {"restricted"}
    assert stored[grace]["status"] == "forwarded"
    everything = cli_run("submissions")
    assert not any(reference in everything for reference in ada)
    assert body(client.http.get("/admin/submissions?status=received"))["submissions"] == []
    retry_one = client.http.post(f"/admin/submissions/{ada[0]}/retry")
    assert (retry_one.status_code, body(retry_one)["error"]["code"]) == (409, "restricted")
    assert listed("ada@example.com") == ada

    assert "Lifted the restriction on 3" in cli_run(
        "restrict", "--email", "ada@example.com", "--lift", "--yes"
    )
    worker()
    assert {stored_submissions()[reference]["status"] for reference in ada} == {"forwarded"}
    assert all(len(team_copies(outbox, reference)) == 1 for reference in ada)


def test_erase_deletes_the_address_data_and_cancels_its_deliveries(client, four, aws_faults, worker, outbox):
    ada, grace = four
    dry = cli_run("erase", "--email", "ada@example.com", "--dry-run")
    assert all(reference in dry for reference in ada) and "idempotency record" in dry
    assert len(stored_submissions()) == 4

    erased = cli_run("erase", "--email", "ada+x@EXAMPLE.com", "--yes")

    # Three submissions, the idempotency record and the address's counter.
    assert "Erased 5 item(s)." in erased
    assert set(stored_submissions()) == {grace}
    left = [item["pk"]["S"] for item in submissions_table_items()]
    assert not any(pk.startswith("idempotency#") for pk in left)
    assert sum(pk.startswith("rate#email#") for pk in left) == 1  # Grace's
    assert listed("ada@example.com") == []
    del aws_faults["SendEmail"]
    worker()  # Ada's queued references find nothing to send
    assert all(team_copies(outbox, reference) == [] for reference in ada)
    assert len(team_copies(outbox, grace)) == 1
    assert "Erased 0 item(s)." in cli_run("erase", "--email", "ada@example.com", "--yes")


def test_erase_logs_the_request_and_count_never_the_address(four, capsys):
    capsys.readouterr()
    cli_run("erase", "--email", "ada@example.com", "--yes")
    logged = capsys.readouterr().err
    assert '"action":"erase","count":5' in logged
    assert "ada" not in logged.lower()


def test_changes_ask_for_confirmation(four, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))  # not a terminal
    with pytest.raises(cli.CommandError, match="run it in a terminal to confirm, or pass --yes") as refused:
        cli_run("erase", "--email", "ada@example.com")
    assert "This will erase" in refused.value.output
    assert len(stored_submissions()) == 4

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("no\n"))
    with pytest.raises(cli.CommandError, match="nothing changed"):
        cli_run("restrict", "--email", "ada@example.com")
    monkeypatch.setattr("sys.stdin", Terminal("yes\n"))
    assert "Restricted 3" in cli_run("restrict", "--email", "ada@example.com")


def test_the_staff_route_answers_each_action(client, four):
    ada, grace = four

    def request(action: str, email: str = "Ada@example.com"):
        return client.http.post(
            "/admin/data-requests", headers=JSON, body=json.dumps({"email": email, "action": action})
        )

    found = body(request("find"))["submissions"]
    assert [submission["reference"] for submission in found] == ada
    assert len(body(request("export"))["submissions"]) == 3
    assert body(request("restrict")) == {"action": "restrict", "count": 3}
    assert body(request("lift")) == {"action": "lift", "count": 3}
    assert body(request("erase")) == {"action": "erase", "count": 5}
    assert body(request("find"))["submissions"] == []
    assert set(stored_submissions()) == {grace}


@pytest.mark.parametrize(
    ("sent", "message"),
    [
        ({"email": "not an address", "action": "find"}, "email must be an email address"),
        ({"email": "ada@example.com", "action": "forget"}, "action must be one of find, export"),
        ({"email": "ada@example.com", "action": "find", "why": "x"}, "why is not part of a data request"),
        (["ada@example.com"], "Send a JSON object"),
        ("{not json", "Send a JSON object"),
    ],
)
def test_the_staff_route_refuses_a_bad_request_in_plain_words(client, sent, message):
    response = client.http.post(
        "/admin/data-requests", headers=JSON, body=sent if isinstance(sent, str) else json.dumps(sent)
    )
    assert response.status_code == 400
    assert message in body(response)["error"]["message"]


def test_the_backfill_finds_submissions_stored_without_a_digest(client, four):
    ada, _ = four
    table = get_settings().submissions_table
    for reference in ada[:2]:
        aws.dynamodb().update_item(
            TableName=table,
            Key={"pk": {"S": f"submission#{reference}"}, "sk": {"S": "-"}},
            UpdateExpression="REMOVE email_digest, email_match",
        )
    assert listed("ada@example.com") == ada[2:]

    assert "address digest of 2 stored submission(s)" in cli_run("backfill")
    assert listed("ada@example.com") == ada
    assert "address digest of 0 stored submission(s)" in cli_run("backfill")


def test_provision_backfills_once_per_matching_version(client, four):
    ada, _ = four
    dynamodb, table = aws.dynamodb(), get_settings().submissions_table
    aws.dynamodb().update_item(
        TableName=table,
        Key={"pk": {"S": f"submission#{ada[0]}"}, "sk": {"S": "-"}},
        UpdateExpression="SET email_match = :old",
        ExpressionAttributeValues={":old": {"S": "0"}},
    )
    arn = dynamodb.describe_table(TableName=table)["Table"]["TableArn"]
    assert "address digest" not in cli_run("provision")  # the table's tag says it is done
    dynamodb.untag_resource(ResourceArn=arn, TagKeys=["nlc:address-matching"])
    assert "address digest of 1 stored submission(s)" in cli_run("provision")
    assert "address digest" not in cli_run("provision")
