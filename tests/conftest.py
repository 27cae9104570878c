"""Shared fixtures: every test runs against moto, never real AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

# The fake AWS first: its handlers must be in every botocore session.
from fake_aws import Emulator

from chalicelib import aws, origin_secret
from chalicelib.settings import PROJECT_DIR, get_settings, stage_environment

SEED_CONTENT = PROJECT_DIR / "content"
TESTS = Path(__file__).resolve().parent


# Tiers -----------------------------------------------------------------------
# A test's tier is the folder it lives in (tests/unit, tests/api, ...), so a
# new test needs no marker of its own: `make test-unit` runs tests/unit alone
# in seconds, without the emulator.
TIERS = ("unit", "api", "deploy", "browser")
# A unit or api test longer than this is a deploy test, or wants cutting down.
SLOW_SECONDS = 30


def _tier(item: pytest.Item) -> str:
    folder = item.path.relative_to(TESTS).parts[0] if TESTS in item.path.parents else None
    if folder not in TIERS:
        raise pytest.UsageError(f"{item.path}: move it to the folder of its tier, tests/<{'|'.join(TIERS)}>/")
    return folder


# Run first, so that with pytest-xdist (`make test`) the long ones start at
# once and the short ones fill in around them instead of waiting at the end.
SLOW_FIRST = ("deploy", "browser", "differential", "property", "soak")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = _tier(item)
        other = [mark for mark in TIERS if mark != tier and item.get_closest_marker(mark)]
        if other:
            raise pytest.UsageError(f"{item.nodeid} is marked {other[0]} but lives in tests/{tier}/: move it")
        item.add_marker(tier)
    items.sort(key=lambda item: not any(item.get_closest_marker(mark) for mark in SLOW_FIRST))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = (yield).get_result()
    slow = call.when == "call" and call.duration > SLOW_SECONDS
    if slow and report.passed and (item.get_closest_marker("unit") or item.get_closest_marker("api")):
        report.outcome = "failed"
        report.longrepr = (
            f"took {call.duration:.0f} s: a unit or api test must finish within {SLOW_SECONDS} s "
            "(make it smaller, or move it to tests/deploy/)"
        )


@pytest.fixture(scope="session")
def no_local_stack(tmp_path_factory) -> str:
    """A local-stack state file that never exists: the CLI's `--stage local`
    commands run in the test's moto, never against a stack someone (or a
    test on another pytest-xdist worker) is running from this checkout."""
    return str(tmp_path_factory.mktemp("no-local-stack") / "local-stack.json")


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch, no_local_stack):
    """The local stage's settings, dummy credentials and no custom endpoint,
    so a client made by mistake outside moto fails instead of reaching AWS."""
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NLC_LOCAL_STATE", no_local_stack)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    for name, value in stage_environment("local").items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aws.reset_clients()
    origin_secret.forget()
    yield
    get_settings.cache_clear()
    aws.reset_clients()
    origin_secret.forget()


EMULATOR = pytest.StashKey[Emulator]()


@pytest.fixture(scope="session")
def emulator(pytestconfig):
    """moto for the whole run, provisioned once (see tests/fake_aws.py)."""
    emulator = pytestconfig.stash[EMULATOR] = Emulator()
    yield emulator
    emulator.off()


def pytest_runtest_setup(item: pytest.Item) -> None:
    # A test outside the emulator finds moto off and empty, as it always did.
    emulator = item.config.stash.get(EMULATOR, None)
    if emulator is not None and "aws_backend" not in getattr(item, "fixturenames", ()):
        emulator.off()


@pytest.fixture
def aws_backend(emulator, monkeypatch):
    """moto holding the local stage's bucket and tables and nothing else."""
    from nlc_tools.provision import provision

    emulator.test(monkeypatch, lambda: provision(get_settings(), report=lambda _line: None))


@pytest.fixture
def fake_aws(emulator, aws_backend):
    """The test's AWS calls: recorded, failed on demand (`fake_aws.fail`)."""
    return emulator.fake


@pytest.fixture
def client(aws_backend):
    from chalice.test import Client

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
def seeded(emulator, publish):
    """The seed content, published (from a snapshot after the first time)."""
    emulator.reach("seeded", publish)


# A visitor's enquiry, and posting one (or any form's fields) as JSON.
JSON = {"Content-Type": "application/json"}
ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}


def post(client, data=ENQUIRY, path="/enquiries", headers=JSON):
    return client.http.post(path, headers=headers, body=json.dumps(data))


def body(response) -> dict:
    return json.loads(response.body)


@pytest.fixture
def aws_calls(fake_aws):
    """Every AWS API call made from here on, as (service, operation), in order."""
    fake_aws.calls.clear()
    return fake_aws.calls


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


def create_distribution(cloudfront) -> dict:
    """A CloudFront distribution for the local stage, in the emulator."""
    return cloudfront.create_distribution(
        DistributionConfig={
            "CallerReference": "tests",
            "Comment": "nlc-local API",
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "api", "DomainName": "api.example.com"}]},
            "DefaultCacheBehavior": {"TargetOriginId": "api", "ViewerProtocolPolicy": "redirect-to-https"},
        }
    )["Distribution"]


@pytest.fixture
def aws_faults(fake_aws) -> dict[str, Exception]:
    """Make AWS operations fail: `aws_faults["SendEmail"] = client_error(...)`;
    delete the entry to heal it. `fake_aws.fail` has more kinds of fault."""
    return fake_aws.failing


@pytest.fixture
def outbox(fake_aws) -> list[dict]:
    """Every email SES accepted from here on, as our code sent it (moto
    records no Reply-To), each checked against moto's record of it."""
    fake_aws.outbox.clear()
    return fake_aws.outbox


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
    from chalicelib.submissions.submission import Submission
    from chalicelib.tables import submissions_table

    items = aws.dynamodb().scan(TableName=get_settings().submissions_table)["Items"]
    return {
        item["reference"]["S"]: Submission(**submissions_table.from_item(item)).view()
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


# The preflight ------------------------------------------------------------------

# Every check `nlc-api doctor` makes, in its order.
DOCTOR_CHECKS = [
    "ses-production-access",
    "sender-identity",
    "configuration-set-events",
    "alerts-subscribed",
    "functions-deployed",
    "queue-subscription",
    "schedules-enabled",
    "bucket-versioning",
    "point-in-time-recovery",
    "distribution",
    "webhook-secret",
    "failed-submissions",
]


# Drafts, scheduling, search and feeds ------------------------------------------

FUTURE = "2099-01-04T09:00:00Z"


@pytest.fixture
def reader_content(tmp_path) -> Path:
    """The seed content plus a draft, a post scheduled for 2099, a post whose
    `publish_at` has passed, a page about mentoring and a page with no URL."""
    import shutil

    folder = tmp_path / "content"
    shutil.copytree(SEED_CONTENT, folder)
    files = {
        "pages/draft-plans.md": "---\ntitle: Draft plans\ndraft: true\n---\n\nOur zephyrine strategy.\n",
        "posts/2099-01-04-future-vision.md": (
            f"---\ntitle: A future vision\npublish_at: {FUTURE}\nsummary: Later.\n---\n\n"
            "Quokkas will lead the public services.\n"
        ),
        "posts/2024-05-01-mentoring-resilience.md": (
            "---\ntitle: Leaders & their networks\npublish_at: 2024-05-02T09:00:00+01:00\n"
            "author: Ada Lovelace\nsummary: Mentoring <and> resilience.\n---\n\n"
            "Senior leaders told us that mentoring builds resilience across the system.\n"
        ),
        "pages/mentoring.md": (
            "---\ntitle: Programme\n---\n\nMentoring is part of the programme. Mentoring matters.\n"
        ),
        "pages/hidden-data.md": "---\ntitle: Data only\npermalink: false\n---\n\nNo address of its own.\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# Delivery ------------------------------------------------------------------------


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


class Killed(BaseException):
    """A sender's process killed mid-call (kill -9): nothing of it runs on."""


@pytest.fixture
def send_events(fake_aws, client):
    """SES's Send events, which the configuration set of a deployed stage
    sends through EventBridge to `ses_events` once SES has taken an email
    (the local stage's set has none): each send's event waits in
    `send_events.pending` until `send_events.deliver()` hands them over."""
    from chalicelib import clock
    from chalicelib.submissions.submission import iso

    class SendEvents:
        def __init__(self) -> None:
            self.pending: list[dict] = []

        def deliver(self) -> None:
            while self.pending:
                detail = self.pending.pop(0)
                event = client.events.generate_cw_event(
                    source="aws.ses", detail_type="Email Sent", detail=detail, resources=[]
                )
                client.lambda_.invoke("ses_events", event)

    events = SendEvents()

    def sent(call, response) -> None:
        if call != ("SESv2", "SendEmail"):
            return
        tags = {tag["Name"]: [tag["Value"]] for tag in call.params.get("EmailTags", [])}
        tags["ses:configuration-set"] = [call.params["ConfigurationSetName"]]
        mail = {
            "timestamp": iso(clock.now()),
            "source": call.params["FromEmailAddress"],
            "messageId": response["MessageId"],
            "destination": call.params["Destination"]["ToAddresses"],
            "tags": tags,
        }
        events.pending.append({"eventType": "Send", "mail": mail, "send": {}})

    fake_aws.after_call.append(sent)
    return events


def team_copies(outbox: list[dict], reference: str) -> list[dict]:
    """The emails SES accepted for a submission's team (not the visitor's)."""
    return [email for email in outbox if email["subject"].startswith(("Enquiry: ", "Accessible format request: "))
            and email["subject"].endswith(reference)]  # fmt: skip


def acknowledgements(outbox: list[dict], reference: str) -> list[dict]:
    return [email for email in outbox if email["subject"].startswith("We have received your") and
            email["subject"].endswith(reference)]  # fmt: skip
