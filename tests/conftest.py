"""Shared fixtures: every test runs against moto, never real AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chalice.test import Client
from moto import mock_aws

from chalicelib import aws
from chalicelib.settings import PROJECT_DIR, get_settings, stage_environment

SEED_CONTENT = PROJECT_DIR / "content"


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch):
    """The local stage's settings, dummy credentials and no custom endpoint,
    so a client made by mistake outside moto fails instead of reaching AWS."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    for name, value in stage_environment("local").items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aws.reset_clients()
    yield
    get_settings.cache_clear()
    aws.reset_clients()


@pytest.fixture
def aws_backend():
    """A fresh moto backend holding the local stage's bucket and tables."""
    from nlc_tools.provision import provision

    with mock_aws():
        provision(get_settings(), report=lambda _line: None)
        yield


@pytest.fixture
def client(aws_backend):
    from app import app

    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as test_client:
        yield test_client


@pytest.fixture
def publish(aws_backend):
    """Publish a content directory through the CLI; returns its output."""
    from nlc_tools import cli

    def run(content_dir: Path = SEED_CONTENT, *extra: str) -> str:
        return cli.run(["publish", "--stage", "local", "--content", str(content_dir), *extra])

    return run


@pytest.fixture
def seeded(publish):
    publish()


def body(response) -> dict:
    return json.loads(response.body)


@pytest.fixture
def aws_calls(monkeypatch):
    """Every AWS API call made, as (service, operation), in order."""
    from botocore.client import BaseClient

    calls: list[tuple[str, str]] = []
    make_api_call = BaseClient._make_api_call

    def recording(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_id, operation_name))
        return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", recording)
    return calls


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory) -> Path:
    """The project as a fresh clone would have it (tracked and new files, none
    that git ignores), so packaging and deploying never touch this checkout."""
    import shutil
    import subprocess

    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=PROJECT_DIR,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    copy = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed):
        source = PROJECT_DIR / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.fixture(scope="session")
def package_environment() -> dict[str, str]:
    """The environment `make package` gives scripts/package.sh: this
    virtualenv's tools and the wheelhouse, so nothing is fetched."""
    import os
    import sys

    wheelhouse = PROJECT_DIR / "build" / "wheelhouse"
    if not (wheelhouse / ".fetched").exists():
        pytest.fail("no wheelhouse for the Lambda package: run `make wheelhouse` (make test does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NLC_"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        WHEELHOUSE=str(wheelhouse),
        AWS_DEFAULT_REGION="eu-west-2",
    )
    return env


# Submissions -----------------------------------------------------------------


def client_error(code: str, operation: str = "SendEmail"):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": f"{code} (injected)"}}, operation)


@pytest.fixture
def aws_faults(monkeypatch) -> dict[str, Exception]:
    """Make AWS operations fail: `aws_faults["SendEmail"] = client_error(...)`;
    delete the entry to heal it."""
    from botocore.client import BaseClient

    faults: dict[str, Exception] = {}
    make_api_call = BaseClient._make_api_call

    def failing(self, operation_name, api_params):
        if operation_name in faults:
            raise faults[operation_name]
        return make_api_call(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", failing)
    return faults


@pytest.fixture
def outbox(aws_backend, monkeypatch) -> list[dict]:
    """Every email SES accepted, as our code sent it: moto records no
    Reply-To, so the request is kept too. Each is checked against moto's own
    record of sent messages."""
    from botocore.client import BaseClient
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent: list[dict] = []
    make_api_call = BaseClient._make_api_call

    def sending(self, operation_name, api_params):
        response = make_api_call(self, operation_name, api_params)
        if operation_name == "SendEmail":
            recorded = ses_backends[DEFAULT_ACCOUNT_ID][self.meta.region_name].sent_messages[-1]
            simple = api_params["Content"]["Simple"]
            email = {
                "from": api_params["FromEmailAddress"],
                "to": api_params["Destination"]["ToAddresses"],
                "destination": api_params["Destination"],
                "reply_to": api_params.get("ReplyToAddresses"),
                "subject": simple["Subject"]["Data"],
                "text": simple["Body"]["Text"]["Data"],
                "html": simple["Body"].get("Html"),
            }
            assert (recorded.source, recorded.destinations, recorded.subject, recorded.body) == (
                email["from"],
                email["destination"],
                email["subject"],
                email["text"],
            )
            sent.append(email)
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", sending)
    return sent


@pytest.fixture
def stage_settings(monkeypatch):
    """Change the stage's settings for one test: stage_settings(NLC_X="1")."""

    def apply(**values: str):
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        # Cached now, so the test client's per-request environment (the
        # stage's values from config.json) does not undo it.
        return get_settings()

    return apply


def stored_submissions() -> dict[str, dict]:
    """The submissions table's submissions, by reference, as staff see them."""
    from chalicelib.tables import submissions_table

    items = aws.dynamodb().scan(TableName=get_settings().submissions_table)["Items"]
    return {
        item["reference"]["S"]: submissions_table.from_item(item).view()
        for item in items
        if item["pk"]["S"].startswith("submission#")
    }


def submissions_table_items() -> list[dict]:
    return aws.dynamodb().scan(TableName=get_settings().submissions_table)["Items"]


@pytest.fixture
def submissions_clock(monkeypatch):
    """Move the domain's clock forward: `submissions_clock.offset = seconds`."""
    import time

    from chalicelib import clock

    class Clock:
        offset = 0.0

        def now(self) -> float:
            return time.time() + self.offset

    moved = Clock()
    monkeypatch.setattr(clock, "now", moved.now)
    return moved


@pytest.fixture
def worker(client):
    """The delivery queue's worker, run now: `worker()` hands each message
    waiting on the queue to `deliver_submissions`, as Lambda's poller would,
    deletes it, and returns the references it named, until the queue is empty."""

    def drain() -> list[str]:
        sqs, url = aws.sqs(), aws.queue_url(get_settings().delivery_queue)
        handled: list[str] = []
        while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                event = client.events.generate_sqs_event([message["Body"]], get_settings().delivery_queue)
                client.lambda_.invoke("deliver_submissions", event)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                handled.append(message["Body"])
        return handled

    return drain


def team_copies(outbox: list[dict], reference: str) -> list[dict]:
    """The emails SES accepted for a submission's team (not the visitor's)."""
    return [email for email in outbox if email["subject"].startswith(("Enquiry: ", "Accessible format request: "))
            and email["subject"].endswith(reference)]  # fmt: skip


def acknowledgements(outbox: list[dict], reference: str) -> list[dict]:
    return [email for email in outbox if email["subject"].startswith("We have received your") and
            email["subject"].endswith(reference)]  # fmt: skip


def aws_error(code: str, operation: str, status: int):
    """An error AWS answered with an HTTP status (a 5xx leaves the outcome unknown)."""
    from botocore.exceptions import ClientError

    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} (injected)"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def read_timeout(service: str = "email"):
    """A call whose answer never came: AWS may have done what was asked."""
    from botocore.exceptions import ReadTimeoutError

    return ReadTimeoutError(endpoint_url=f"https://{service}.eu-west-2.amazonaws.com/")
