"""Random sequences of publishes of random content sets, with faults at
random points (a failing batch, a process killed inside a write, a second
publish or an editor's upload meanwhile), always end, after one clean
publish, with the API serving exactly that set."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from chalice.test import Client
from fake_aws import client_error
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from api.test_publishing_faults import after_listing, failing_writes  # noqa: F401 - a fixture
from chalicelib import aws, clock
from chalicelib.content.publishing import lease as leases
from chalicelib.content.publishing import publish as publishing
from chalicelib.names import SOURCE_PREFIX
from chalicelib.settings import PROJECT_DIR, get_settings
from chalicelib.tables import content_table
from nlc_tools import cli
from nlc_tools.cli import CommandError

pytestmark = [
    pytest.mark.property,
    pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode"),
]

NAMES = ("alpha", "bravo", "charlie")
TAGS = ("nav", "footer", "team")
# A page: its permalink variant (a move when it changes) and its tags.
PAGE = st.tuples(st.integers(0, 1), st.frozensets(st.sampled_from(TAGS)))
CONTENT = st.dictionaries(st.sampled_from(NAMES), PAGE, max_size=len(NAMES))
FAULTS = st.sampled_from(["failing batch", "killed in a write", "second publish", "upload meanwhile"])


class Killed(BaseException):
    """The process stops inside a write, as kill -9 would stop it."""


def render(content: dict) -> dict[str, str]:
    return {
        f"{name}.md": f"---\ntitle: {name.title()}\npermalink: /{name}-{variant}/\n"
        f"tags: [{', '.join(sorted(tags))}]\n---\n\nAbout {name}.\n"
        for name, (variant, tags) in content.items()
    }


class Publishing(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        empty_the_bucket_and_table()
        self.folder = Path(tempfile.mkdtemp())
        self.published: dict | None = None  # what must be served; None after a fault

    def teardown(self) -> None:
        self.fail_write(0, Killed())  # healed
        self.publish(self.published if self.published is not None else {})
        self.check_served()

    # Doing ---------------------------------------------------------------------

    def publish(self, content: dict) -> None:
        cli.run(["publish", "--stage", "local", "--content", str(self.write(self.folder, content))])
        self.published = content

    @staticmethod
    def write(folder: Path, content: dict) -> Path:
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.md"):
            old.unlink()
        for name, text in render(content).items():
            (folder / name).write_text(text)
        return folder

    @rule(content=CONTENT)
    def publish_cleanly(self, content):
        self.publish(content)
        self.check_served()

    @rule(content=CONTENT, fault=FAULTS, at=st.integers(1, 3), other=CONTENT)
    def publish_with_a_fault(self, content, fault, at, other):
        if fault in ("failing batch", "killed in a write"):
            error = Killed() if fault == "killed in a write" else client_error("InternalServerError")
            self.fail_write(at, error)
            try:
                self.publish(content)
            except (CommandError, Killed):
                self.published = None  # part-way: neither set, until a clean publish
            else:
                return  # it needed fewer writes than the fault waited for
            finally:
                self.fail_write(0, Killed())  # healed
            if fault == "killed in a write":
                # kill -9 leaves the lease held by a process that no longer runs.
                dead = subprocess.Popen([sys.executable, "-c", "pass"])
                dead.wait()
                now = clock.now()
                process = f"{socket.gethostname()}:{dead.pid}"
                assert content_table.take_lease(
                    "killed", "a killed publish", process, "-", int(now) + 300, int(now)
                )
        elif fault == "second publish":
            # The second waits for the lease: it runs after the first ends.
            second = self.write(Path(tempfile.mkdtemp()), other)
            after_listing(self.fake_aws, lambda: self.refused_while_held(second))
            self.publish(content)
            self.publish(other)
        else:
            after_listing(self.fake_aws, self.editor_uploads)
            self.publish(content)
            self.published = {**content, "news": (0, frozenset())}
        self.fail_write(0, Killed())  # healed

    @precondition(lambda self: self.published is not None)
    @rule()
    def upload_straight_into_the_bucket(self):
        self.editor_uploads()
        assert self.published is not None
        self.published = {**self.published, "news": (0, frozenset())}
        self.check_served()

    @precondition(lambda self: self.published is not None)
    @rule()
    def roll_back(self):
        releases = content_table.releases(2)
        if len(releases) < 2:
            return
        cli.run(["publish", "--stage", "local", "--rollback"])
        # What the bucket now holds, as the model has it.
        files = content_table.release_files(content_table.releases(1)[0])
        self.published = {name.removesuffix(".md"): self.parse(self.bucket_text(name)) for name in files}
        self.check_served()

    def bucket_text(self, name: str) -> str:
        raw = aws.s3().get_object(Bucket=get_settings().content_bucket, Key=SOURCE_PREFIX + name)
        return raw["Body"].read().decode()

    @staticmethod
    def parse(text: str) -> tuple:
        lines = text.split("\n")
        variant = int(lines[2].rsplit("-", 1)[1].rstrip("/"))
        tags = lines[3].removeprefix("tags: [").removesuffix("]")
        return variant, frozenset(filter(None, tags.split(", ")))

    def editor_uploads(self) -> None:
        text = render({"news": (0, frozenset())})["news.md"]
        aws.s3().put_object(
            Bucket=get_settings().content_bucket, Key=SOURCE_PREFIX + "news.md", Body=text.encode()
        )
        detail = {
            "bucket": {"name": get_settings().content_bucket},
            "object": {"key": SOURCE_PREFIX + "news.md"},
        }
        publishing.handle_bucket_event(detail, report=lambda _line: None)

    @staticmethod
    def refused_while_held(folder: Path) -> None:
        with pytest.raises(leases.PublishBusy):
            publishing.publish_directory(folder, report=lambda _line: None, wait_seconds=0)

    # Checking ------------------------------------------------------------------

    def check_served(self) -> None:
        expected = self.published
        assert expected is not None
        get = self.client.http.get
        pages = json.loads(get("/pages").body)["pages"]
        assert sorted(page["slug"] for page in pages) == sorted(expected)
        for name in (*NAMES, "news"):
            for variant in range(2):
                response = get(f"/content?path=/{name}-{variant}/")
                served = name in expected and expected[name][0] == variant
                assert response.status_code == (200 if served else 404), (name, variant)
        for tag in TAGS:
            response = get(f"/collections/{tag}")
            members = sorted(name for name, (_, tags) in expected.items() if tag in tags)
            if members:
                assert sorted(item["slug"] for item in json.loads(response.body)["items"]) == members
            else:
                assert response.status_code == 404, tag

    @invariant()
    def lease_is_free_or_left_by_the_killed_run(self):
        held = content_table.lease() or {}
        assert "owner" not in held or content_table.text_attribute(held, "owner") == "killed"


def empty_the_bucket_and_table() -> None:
    """A fresh start for each example, cheaper than provisioning again."""
    settings = get_settings()
    table = aws.dynamodb().scan(TableName=settings.content_table)["Items"]
    content_table.write_batch([], [content_table.item_key(stored) for stored in table])
    listed = aws.s3().list_object_versions(Bucket=settings.content_bucket)
    for entry in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        aws.s3().delete_object(Bucket=settings.content_bucket, Key=entry["Key"], VersionId=entry["VersionId"])


def test_publishing_converges_whatever_happened_before(aws_backend, fake_aws, request, monkeypatch):
    from app import app

    monkeypatch.setattr(leases, "_pause", lambda seconds: None)
    with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
        monkeypatch.setattr(Publishing, "client", client, raising=False)
        monkeypatch.setattr(Publishing, "fake_aws", fake_aws, raising=False)
        monkeypatch.setattr(
            Publishing, "fail_write", staticmethod(request.getfixturevalue("failing_writes")), raising=False
        )
        run_state_machine_as_test(
            Publishing,
            settings=settings(
                max_examples=6,
                stateful_step_count=4,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
