"""`nlc-api doctor` on the local stage, in the tests' emulator: every check
named, what the emulator cannot answer `n/a` (never `ok`), and each fault
turning exactly its own check to `fail`, with a fix and exit status 1.
(tests/deploy/test_deploy.py runs it on `dev` after provision and deploy.)"""

from __future__ import annotations

import json

import pytest
from conftest import DOCTOR_CHECKS, post
from fake_aws import client_error

from chalicelib import aws
from chalicelib.settings import get_settings
from nlc_tools import cli, doctor
from nlc_tools.resources import alerts_topic, dead_letter_queue


def checks(*extra: str) -> tuple[dict[str, dict], bool]:
    """Each check by name, and whether doctor exited 0."""
    try:
        output, passed = cli.run(["doctor", "--stage", "local", "--format", "json", *extra]), True
    except cli.CommandError as error:
        output, passed = error.output, False
    listed = json.loads(output)["checks"]
    assert [check["name"] for check in listed] == DOCTOR_CHECKS
    assert all(set(check) == {"name", "status", "detail", "fix"} for check in listed)
    return {check["name"]: check for check in listed}, passed


@pytest.fixture
def subscribed(aws_backend) -> str:
    """The alerts topic with one subscription, as staff make it; its ARN."""
    sns = aws.client("sns")
    (topic,) = [
        t["TopicArn"]
        for t in sns.list_topics()["Topics"]
        if t["TopicArn"].endswith(alerts_topic(get_settings()))
    ]
    return sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="team@example.com")["SubscriptionArn"]


def test_every_check_is_named_and_what_the_emulator_cannot_answer_is_not_ok(subscribed):
    found, passed = checks()

    assert passed
    assert {name: check["status"] for name, check in found.items()} == {
        "ses-production-access": "n/a",  # the emulator has no GetAccount
        "sender-identity": "n/a",  # nor DKIM records
        "configuration-set-events": "n/a",  # the local stack sends SES's events nowhere
        "alerts-subscribed": "ok",
        "functions-deployed": "n/a",
        "queue-subscription": "ok",
        "schedules-enabled": "n/a",
        "bucket-versioning": "ok",
        "point-in-time-recovery": "ok",
        "distribution": "n/a",
        "webhook-secret": "n/a",
        "failed-submissions": "ok",
    }
    assert "cannot say" in found["ses-production-access"]["detail"]


def turned_to_fail(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    changed = [name for name in DOCTOR_CHECKS if before[name]["status"] != after[name]["status"]]
    assert all(after[name]["status"] == "fail" and after[name]["fix"] for name in changed)
    return changed


def test_suspended_versioning_fails_its_check_alone(subscribed):
    before, _ = checks()
    aws.s3().put_bucket_versioning(
        Bucket=get_settings().content_bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    after, passed = checks()
    assert not passed
    assert turned_to_fail(before, after) == ["bucket-versioning"]
    assert after["bucket-versioning"]["fix"] == "nlc-api provision --stage local"


def test_a_deleted_subscription_fails_its_check_alone(subscribed):
    before, _ = checks()
    aws.client("sns").unsubscribe(SubscriptionArn=subscribed)
    after, passed = checks()
    assert not passed
    assert turned_to_fail(before, after) == ["alerts-subscribed"]
    assert "aws sns subscribe" in after["alerts-subscribed"]["fix"]


def test_a_message_on_the_dead_letter_queue_fails_its_check_alone(subscribed):
    before, _ = checks()
    dead_letters = dead_letter_queue(get_settings().delivery_queue)
    aws.sqs().send_message(QueueUrl=aws.queue_url(dead_letters), MessageBody="NLC-2222-2222")
    after, passed = checks()
    assert not passed
    assert turned_to_fail(before, after) == ["queue-subscription"]
    assert "1 message(s)" in after["queue-subscription"]["detail"]
    assert "aws sqs receive-message" in after["queue-subscription"]["fix"]


def test_a_failed_submission_fails_its_check_alone(subscribed, client, aws_faults, worker):
    before, _ = checks()
    aws_faults["SendEmail"] = client_error("MessageRejected", "SendEmail", 400)
    post(client)
    worker()
    del aws_faults["SendEmail"]
    after, passed = checks()
    assert not passed
    assert turned_to_fail(before, after) == ["failed-submissions"]
    assert "1 submission(s)" in after["failed-submissions"]["detail"]


def test_the_text_report_says_each_check_and_the_fix_of_each_failure(aws_backend):
    with pytest.raises(cli.CommandError, match="1 check\\(s\\) failed: alerts-subscribed") as failed:
        cli.run(["doctor", "--stage", "local"])
    lines = failed.value.output.splitlines()
    assert lines[0] == "n/a  ses-production-access: the AWS answering cannot say (NotImplementedError)"
    (failing,) = [line for line in lines if line.startswith("fail ")]
    assert failing.startswith("fail alerts-subscribed: nlc-local-alerts has no confirmed")
    assert " Fix: aws sns subscribe" in failing
    assert len(lines) == 13 and lines[-1] == "1 of 12 checks failed."


def test_a_build_hook_secret_is_checked_when_a_hook_is_set(subscribed, stage_settings):
    stage_settings(NLC_PUBLISH_WEBHOOK_URL="http://127.0.0.1:9/build")
    found, passed = checks()
    assert not passed and found["webhook-secret"]["status"] == "fail"
    assert "whsec_" in found["webhook-secret"]["fix"]

    aws.client("ssm").put_parameter(
        Name=get_settings().publish_webhook_secret_parameter, Value="whsec_a2V5", Type="SecureString"
    )
    found, passed = checks()
    assert passed and found["webhook-secret"]["status"] == "ok"


def test_an_emulator_s_missing_call_is_unanswered_and_aws_refusals_are_not():
    assert doctor.unanswered(NotImplementedError())
    assert doctor.unanswered(client_error("404", "GetAccount", 404))
    assert not doctor.unanswered(client_error("AccessDeniedException", "GetAccount", 403))
