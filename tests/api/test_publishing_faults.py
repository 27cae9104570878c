"""Publishing when things go wrong: content AWS would refuse, writes that
fail part-way, publishes that overlap, a bad file put into the bucket, small
files that would cost a lot, and going back to an earlier set. Each ends
with the API serving exactly the last published set."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import FUTURE, body

from api.test_publishing import bucket_keys, fails, page, table_keys, write
from chalicelib import aws, clock
from chalicelib.content.publishing import lease as leases
from chalicelib.content.publishing import publish as publishing
from chalicelib.names import SOURCE_PREFIX
from chalicelib.settings import get_settings
from chalicelib.tables import content_table
from nlc_tools import cli
from nlc_tools.cli import CommandError

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")


def site_files(count: int, moved: str = "/moved-a/", tag: str = "nav") -> dict[str, str]:
    """`count` pages, enough for several BatchWriteItem calls, one of them at `moved`."""
    files = {f"p{n:03d}.md": page(f"Page {n}", f"tags: [{tag}]\norder: {n}\n") for n in range(count)}
    files["mover.md"] = page("Mover", f"permalink: {moved}\ntags: [{tag}, mover]\n")
    return files


def publish_set(publish, root: Path, files: dict[str, str]) -> str:
    for old in root.rglob("*.md"):
        old.unlink()
    return publish(write(root, files))


def status(client, path: str) -> int:
    return client.http.get(f"/content?path={path}").status_code


def put_source(name: str, text: str) -> None:
    aws.s3().put_object(Bucket=get_settings().content_bucket, Key=SOURCE_PREFIX + name, Body=text.encode())


def bucket_event(client, name: str = "x.md"):
    event = client.events.generate_cw_event(
        source="aws.s3",
        detail_type="Object Created",
        detail={"bucket": {"name": get_settings().content_bucket}, "object": {"key": SOURCE_PREFIX + name}},
        resources=[],
    )
    return client.lambda_.invoke("index_content", event)


@pytest.fixture
def failing_writes(fake_aws):
    """Make the nth BatchWriteItem from now fail: `failing_writes(n, error)`."""
    armed = []

    def arm(at: int, error: BaseException) -> None:
        for fault in armed:
            fake_aws.heal(fault)
        seen = itertools.count(1)
        armed[:] = [fake_aws.fail("BatchWriteItem", error, when=lambda _params: next(seen) == at)]

    return arm


def after_listing(fake_aws, meanwhile) -> None:
    """Run `meanwhile` once, as the publish under way goes on from listing
    the bucket (to its uploads, or to the table): it holds the lease, and
    what `meanwhile` puts into the bucket is not among what it listed."""
    listed = False

    def hook(call) -> None:
        nonlocal listed
        if call == ("S3", "ListObjectsV2"):
            listed = True
        elif listed:
            fake_aws.before_call.remove(hook)
            meanwhile()

    fake_aws.before_call.append(hook)


def before_letting_go(fake_aws, meanwhile) -> None:
    """Run `meanwhile` once, as the publish under way is about to give the
    lease back: its work is done, and it still holds the lease."""

    def hook(call) -> None:
        if call == ("DynamoDB", "UpdateItem") and call.params["UpdateExpression"].startswith("REMOVE #owner"):
            fake_aws.before_call.remove(hook)
            meanwhile()

    fake_aws.before_call.append(hook)


@pytest.fixture
def moving_clock(submissions_clock, monkeypatch):
    """Waiting for the lease moves the clock instead of sleeping."""
    waits: list[float] = []

    def pause(seconds: float) -> None:
        waits.append(seconds)
        submissions_clock.offset += seconds

    monkeypatch.setattr(clock, "sleep", pause)
    return waits


# 1. What AWS would refuse is refused first, naming file, field and limit -------


EMOJI = "\U0001f600"


@pytest.mark.parametrize(
    "text, expected",
    [
        (page("T", f"tags: [{'t' * 2100}]\n"), "tags: makes a DynamoDB partition key of 2,104 bytes"),
        (
            page("T" * 300, "tags:\n" + "".join(f"  - {n:04d}{'x' * 330}\n" for n in range(1300))),
            "tags: makes a DynamoDB item of",
        ),
        (page("T", f"permalink: /{EMOJI * 1000}/\n"), "permalink: makes a DynamoDB partition key of 4,007"),
        (
            page("T", body_text=f"[Report](/files/{'r' * 1090}.pdf)"),
            "documents: makes a DynamoDB sort key of 1,101 bytes; the limit is 1,024 bytes",
        ),
    ],
    ids=["long-tag", "many-tags", "emoji-permalink", "long-document-link"],
)
def test_content_dynamodb_would_refuse_is_refused_before_any_write(
    publish, tmp_path, aws_calls, text, expected
):
    site = write(tmp_path, {"good.md": page("Good"), "huge.md": text})
    output = fails(publish, site)
    assert f"huge.md: {expected}" in output
    assert "nothing was published" in output
    assert [call for call in aws_calls if call[1] in ("BatchWriteItem", "PutObject")] == []
    assert table_keys() == set() and bucket_keys() == []


def test_a_file_path_too_long_for_an_s3_key_is_refused(publish, tmp_path):
    deep = "/".join(["d" * 200] * 5) + "/abcdefghijkl.md"  # 1,020 bytes: 1,028 with "content/"
    output = fails(publish, write(tmp_path, {deep: page("A")}))
    assert f"{deep}: file name: its path makes an S3 object key of 1,028 bytes; the limit is 1,024" in output
    assert bucket_keys() == []


def test_a_removed_file_takes_its_records_even_after_a_refused_publish(publish, client, tmp_path):
    site = write(tmp_path, {"a.md": page("A", "tags: [nav]\n"), "b.md": page("B", "tags: [nav, solo]\n")})
    publish(site)
    write(site, {"bad.md": page("T", f"tags: [{'t' * 2100}]\n")})
    fails(publish, site)
    (site / "bad.md").unlink()
    (site / "b.md").unlink()
    assert "1 deleted" in publish(site)
    assert status(client, "/b/") == 404
    assert client.http.get("/pages/b").status_code == 404
    assert client.http.get("/collections/solo").status_code == 404


# A bad file in the bucket: refused as a whole, 422, logged and counted -------------


def test_a_bad_file_in_the_bucket_gets_422_and_the_table_keeps_the_last_good_set(client, seeded, capsys):
    before = client.http.get("/content?path=/what-we-do/").body
    put_source("pages/huge.md", page("T", f"tags: [{'t' * 2100}]\n"))

    for _ in range(2):
        response = client.http.post("/admin/publish")
        assert response.status_code == 422
        error = body(response)["error"]
        assert error["code"] == "content_invalid"
        assert any("pages/huge.md: tags: makes a DynamoDB partition key" in p for p in error["problems"])

    capsys.readouterr()
    bucket_event(client, "pages/huge.md")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (rejected,) = [line for line in lines if line.get("event") == "rejected"]
    assert any("pages/huge.md" in problem for problem in rejected["problems"])
    (metric,) = [line for line in lines if "ContentRejected" in line]
    assert metric["ContentRejected"] == 1 and metric["Stage"] == "local"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "ContentRejected", "Unit": "Count"}]
    assert client.http.get("/content?path=/what-we-do/").body == before
    assert client.http.get("/content?path=/pages/huge/").status_code == 404


# 2. A failed batch, then going back ----------------------------------------------


def test_publishing_again_after_a_failed_batch_serves_exactly_that_set(
    publish, client, tmp_path, failing_writes
):
    from fake_aws import client_error

    publish_set(publish, tmp_path, site_files(30))
    failing_writes(2, client_error("InternalServerError", "BatchWriteItem"))
    with pytest.raises(CommandError):
        publish_set(publish, tmp_path, site_files(30, moved="/moved-b/"))
    failing_writes(0, RuntimeError())  # healed: no call is number 0

    output = publish_set(publish, tmp_path, site_files(30))

    assert "update /moved-a/  (mover.md)" in output and "30 unchanged" in output
    assert status(client, "/moved-a/") == 200
    assert status(client, "/moved-b/") == 404
    # The bucket holds set A again, so the indexer keeps it.
    bucket_event(client)
    assert status(client, "/moved-a/") == 200 and status(client, "/moved-b/") == 404
    again = publish_set(publish, tmp_path, site_files(30))
    assert "0 created, 0 updated, 0 deleted, 31 unchanged" in again


def test_a_crash_between_writes_then_publishing_again_converges(publish, client, tmp_path, failing_writes):
    publish_set(publish, tmp_path, site_files(30))
    failing_writes(3, KeyboardInterrupt())  # the process stops inside a write
    with pytest.raises(KeyboardInterrupt):
        publish_set(publish, tmp_path, site_files(30, moved="/moved-b/", tag="menu"))
    failing_writes(0, RuntimeError())

    publish_set(publish, tmp_path, site_files(30, moved="/moved-b/", tag="menu"))

    assert status(client, "/moved-a/") == 404 and status(client, "/moved-b/") == 200
    assert client.http.get("/collections/nav").status_code == 404
    assert len(body(client.http.get("/collections/menu"))["items"]) == 31


def test_rollback_publishes_the_previous_set_from_the_bucket_versions(publish, client, tmp_path):
    publish_set(publish, tmp_path, site_files(5))
    publish_set(publish, tmp_path, {**site_files(5, moved="/moved-b/"), "new.md": page("New")})
    assert status(client, "/moved-b/") == 200

    output = cli.run(["publish", "--stage", "local", "--rollback"])

    assert "Going back to: 6 page(s) from 6 file(s)" in output
    assert status(client, "/moved-a/") == 200
    assert status(client, "/moved-b/") == 404 and status(client, "/new/") == 404
    assert "content/new.md" not in bucket_keys()
    # The bucket holds set A as its current files: the indexer keeps it.
    bucket_event(client)
    assert status(client, "/moved-a/") == 200 and status(client, "/moved-b/") == 404
    shown = cli.run(["status", "--stage", "local"])
    assert "Stage local serves 6 page(s) from 6 file(s)" in shown
    assert "from the release of" in shown


def test_rollback_to_a_release_whose_versions_were_deleted_names_the_file_and_marks_it(
    publish, client, tmp_path, aws_calls
):
    publish_set(publish, tmp_path, {"a.md": page("A"), "b.md": page("B")})
    old_a = content_table.release_files(content_table.releases(1)[0])["a.md"][0]
    publish_set(publish, tmp_path, {"a.md": page("A", body_text="Changed."), "b.md": page("B")})
    # Someone tidied the bucket's history: release one's a.md is gone.
    settings = get_settings()
    aws.s3().delete_object(Bucket=settings.content_bucket, Key=SOURCE_PREFIX + "a.md", VersionId=old_a)
    aws_calls.clear()

    with pytest.raises(CommandError) as raised:
        cli.run(["publish", "--stage", "local", "--rollback"])

    message = str(raised.value)
    assert "stopped part-way" not in message and "publish again" not in message
    assert f"a.md (version {old_a}) is no longer in the bucket" in message
    assert "nothing was changed" in message
    assert [call for call in aws_calls if call[1] in ("BatchWriteItem", "PutObject", "DeleteObject")] == []
    assert "Changed." in body(client.http.get("/content?path=/a/"))["html"]
    shown = cli.run(["status", "--stage", "local"])
    assert "publish --rollback goes back to" not in shown
    assert f"cannot be restored: a.md (version {old_a}) is no longer in the bucket" in shown
    # Asked again, it says so without fetching anything.
    aws_calls.clear()
    with pytest.raises(CommandError, match="cannot be restored"):
        cli.run(["publish", "--stage", "local", "--rollback"])
    assert [call for call in aws_calls if call[0] == "S3"] == []


def test_rollback_needs_an_earlier_publish(publish):
    publish()
    with pytest.raises(CommandError, match="no earlier publish"):
        cli.run(["publish", "--stage", "local", "--rollback"])


def test_status_says_who_published_what_and_from_which_commit(publish, tmp_path):
    assert "has no recorded publish" in cli.run(["status", "--stage", "local"])
    site = write(tmp_path, {"a.md": page("A"), "b.md": page("B")})
    subprocess.run(["git", "init", "-q", str(site)], check=True)
    git = ["git", "-C", str(site), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "content"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()

    output = publish(site)

    assert f"from git commit {commit}" in output
    shown = cli.run(["status", "--stage", "local"])
    assert "serves 2 page(s) from 2 file(s), published 20" in shown
    assert f"from git commit {commit}." in shown
    assert "by arn:aws:" in shown and "No publish is running." in shown
    write(site, {"b.md": page("B", body_text="Changed.")})
    assert f"git commit {commit} with uncommitted changes" in publish(site)
    assert "Before it (publish --rollback goes back to): 2 page(s)" in cli.run(["status", "--stage", "local"])


# 3. One publish at a time --------------------------------------------------------


def hold_lease(holder: str = "ada on laptop", process: str = "elsewhere:1") -> None:
    now = clock.now()
    assert (
        content_table.take_lease("someone", holder, process, "2030-01-01T09:00:00Z", int(now) + 300, int(now))
        is not None
    )


def test_a_second_publish_waits_then_names_who_holds_the_lease(publish, moving_clock, aws_calls):
    hold_lease()
    aws_calls.clear()
    with pytest.raises(CommandError) as raised:
        publish()
    assert "Another publish is running: ada on laptop, since 2030-01-01T09:00:00Z" in str(raised.value)
    assert publishing.CLI_WAIT_SECONDS - 5 < sum(moving_clock) <= publishing.CLI_WAIT_SECONDS
    assert moving_clock[:3] == [0.25, 0.5, 1.0] and max(moving_clock) == 5.0
    assert [call for call in aws_calls if call[1] in ("BatchWriteItem", "PutObject")] == []
    assert "Publishing now: ada on laptop" in cli.run(["status", "--stage", "local"])


def test_a_lease_left_by_a_process_killed_part_way_is_taken_over(publish, client, moving_clock):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lease(process=leases.process_name(dead.pid))  # as kill -9 leaves it
    assert "2 created" in publish()
    assert moving_clock == []
    assert client.http.get("/pages/what-we-do").status_code == 200


def test_an_expired_lease_is_taken(publish, submissions_clock, moving_clock):
    hold_lease()
    submissions_clock.offset += 301
    assert "2 created" in publish()
    assert moving_clock == []


def expiry_of(held: dict) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(held["expires"]["N"])))


def test_a_publish_that_died_elsewhere_blocks_the_next_for_a_minute_at_most(publish, client, moving_clock):
    # Taken as every publish takes it, by a process on another machine that
    # then died: nothing renews the lease, and nothing here can see the process.
    leases.take("ada on laptop", wait_seconds=0)
    assert "Publishing now: ada on laptop" in cli.run(["status", "--stage", "local"])

    assert "2 created" in publish()

    assert 0 < sum(moving_clock) <= 61  # its lease ran out, a minute after it was taken
    assert client.http.get("/pages/what-we-do").status_code == 200


def test_the_busy_message_and_status_say_when_the_lease_expires(publish, moving_clock):
    hold_lease()
    until = expiry_of(content_table.lease() or {})
    with pytest.raises(CommandError) as raised:
        publish()
    assert f"it holds the lease until {until} unless it renews it" in str(raised.value)
    shown = cli.run(["status", "--stage", "local"])
    assert f"Publishing now: ada on laptop, since 2030-01-01T09:00:00Z; its lease runs to {until}" in shown


def test_status_says_a_publish_whose_holder_is_gone_stopped_part_way(publish, submissions_clock):
    hold_lease()
    until = expiry_of(content_table.lease() or {})
    submissions_clock.offset += 301
    shown = cli.run(["status", "--stage", "local"])
    assert "Publishing now" not in shown and "No publish is running." not in shown
    assert (
        f"A publish stopped part-way: ada on laptop, since 2030-01-01T09:00:00Z; its lease expired at {until}"
    ) in shown
    assert "Publish again to finish it." in shown

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lease(process=leases.process_name(dead.pid))  # kill -9 on this machine: the lease runs on
    shown = cli.run(["status", "--stage", "local"])
    assert "A publish stopped part-way: ada on laptop" in shown
    assert "its process on this machine has ended" in shown


def test_the_indexer_takes_over_from_a_publish_killed_on_this_machine(publish, client, tmp_path):
    site = write(tmp_path, {"a.md": page("A")})
    publish(site)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lease(process=leases.process_name(dead.pid))
    put_source("news.md", page("News"))

    bucket_event(client, "news.md")

    assert body(client.http.get("/content?path=/news/"))["title"] == "News"
    assert "owner" not in (content_table.lease() or {})


def test_the_schedule_takes_over_from_a_publish_killed_on_this_machine(
    client, publish, reader_content, submissions_clock
):
    from api.test_drafts_and_feeds import FUTURE_POST, scheduled_event, seconds_until

    publish(reader_content)
    submissions_clock.offset = seconds_until(FUTURE) + 60
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lease(process=leases.process_name(dead.pid))

    client.lambda_.invoke("publish_scheduled", scheduled_event(client))

    assert client.http.get(f"/content?path={FUTURE_POST}").status_code == 200


def test_taking_over_from_a_dead_holder_the_indexer_mends_the_whole_table(publish, client, tmp_path):
    site = write(tmp_path, {"a.md": page("A"), "b.md": page("B")})
    publish(site)
    # Killed part-way through its writes: one page's record never arrived.
    content_table.write_batch([], [content_table.page_key("b")])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    hold_lease(process=leases.process_name(dead.pid))

    put_source("a.md", page("A"))  # the same file again: the bucket holds the live release
    bucket_event(client, "a.md")

    assert client.http.get("/pages/b").status_code == 200


def test_a_holder_keeps_its_lease_through_a_step_of_several_minutes(publish, submissions_clock):
    lease = leases.take("ada on laptop", wait_seconds=0)

    class ThreeMinutes(threading.Event):
        """Each wait passes on the clock; set once three minutes have passed."""

        def wait(self, timeout: float | None = None) -> bool:
            submissions_clock.offset += timeout or 0
            return submissions_clock.offset >= 180

    lease.keep_alive(ThreeMinutes())

    assert int((content_table.lease() or {})["expires"]["N"]) > clock.now()
    with pytest.raises(leases.PublishBusy):
        leases.take("bob on desktop", wait_seconds=0)


def test_the_lease_is_kept_alive_while_a_publish_runs_and_no_longer(publish, tmp_path, fake_aws):
    seen: list[list[str]] = []
    after_listing(fake_aws, lambda: seen.append([thread.name for thread in threading.enumerate()]))

    publish(write(tmp_path, {"a.md": page("A")}))

    assert "publishing lease" in seen[0]
    assert "publishing lease" not in [thread.name for thread in threading.enumerate()]


def test_admin_publish_while_another_runs_is_409_and_leaves_a_mark(client, seeded, moving_clock):
    hold_lease()
    response = client.http.post("/admin/publish")
    assert response.status_code == 409
    assert "ada on laptop" in body(response)["error"]["message"]
    assert "dirty" in content_table.lease()


def test_an_upload_indexed_during_a_publish_is_published_before_the_lease_is_let_go(
    publish, client, tmp_path, fake_aws
):
    site = write(tmp_path, {"a.md": page("A")})

    def upload_meanwhile():
        # An editor's upload arrives while the CLI holds the lease.
        put_source("news.md", page("News"))
        assert bucket_event(client, "news.md").payload is None
        assert "dirty" in content_table.lease()

    after_listing(fake_aws, upload_meanwhile)
    output = publish(site)

    assert "The bucket changed during the publish: indexing it again." in output
    assert body(client.http.get("/content?path=/news/"))["title"] == "News"
    assert "owner" not in content_table.lease() and "dirty" not in content_table.lease()


def test_a_page_due_while_another_publish_holds_the_lease_goes_live_when_it_ends(
    client, publish, reader_content, submissions_clock, fake_aws
):
    from api.test_drafts_and_feeds import FUTURE_POST, scheduled_event, seconds_until

    publish(reader_content)

    def schedule_ticks_meanwhile():
        # The page comes due after the holder's reconcile took its moment.
        submissions_clock.offset = seconds_until(FUTURE) + 60
        held = content_table.lease() or {}
        owner = content_table.text_attribute(held, "owner") or ""
        assert content_table.renew_lease(owner, int(clock.now()) + 60)  # as the holder's thread does
        client.lambda_.invoke("publish_scheduled", scheduled_event(client))
        assert "dirty" in (content_table.lease() or {})

    before_letting_go(fake_aws, schedule_ticks_meanwhile)
    (reader_content / "pages" / "mentoring.md").write_text("---\ntitle: Programme\n---\n\nChanged.\n")
    output = publish(reader_content)

    assert "A scheduled page came due during the publish: indexing the bucket again." in output
    assert client.http.get(f"/content?path={FUTURE_POST}").status_code == 200


def test_interleaved_publishes_end_serving_the_last_one(publish, client, tmp_path, fake_aws):
    """B and C from A at once: C waits for B's lease, then publishes; then A."""
    a, b, c = (tmp_path / name for name in "abc")
    write(a, site_files(3))
    write(b, site_files(3, moved="/moved-b/"))
    write(c, site_files(3, moved="/moved-c/"))
    publish(a)
    seen: list[str] = []

    def c_tries_meanwhile():
        with pytest.raises(leases.PublishBusy):
            publishing.publish_directory(c, report=seen.append, wait_seconds=0)

    after_listing(fake_aws, c_tries_meanwhile)
    publish(b)
    assert fake_aws.before_call == []  # C tried while B held the lease
    publish(c)
    publish(a)
    assert status(client, "/moved-a/") == 200
    assert status(client, "/moved-b/") == 404 and status(client, "/moved-c/") == 404


# 4. Small files, bounded costs ---------------------------------------------------

ALIAS_BOMB = (
    "---\ntitle: T\na: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
    + "".join(f"{chr(98 + n)}: &{chr(98 + n)} [{','.join([f'*{chr(97 + n)}'] * 9)}]\n" for n in range(8))
    + "---\n"
)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            ALIAS_BOMB,
            "bomb.md:2: front matter is too large to publish: its aliases expand to more than 20,000",
        ),
        ("---\ntitle: T\na: &a [*a]\n---\n", "bomb.md:2: front matter is too large to publish: an alias"),
        ("---\ntitle: " + "[" * 10_000 + "\n---\n", "bomb.md:2: front matter is too large to publish"),
        (
            page("T", body_text='{% assign s = "xxxxxxxxxx" %}' + "{% assign s = s | append: s %}\n" * 27),
            "bomb.md:22: template error: local namespace limit reached",
        ),
        (
            page("T", body_text="{{ (1..1000000000000) | join }}"),
            "bomb.md:5: template error: rendering takes more",
        ),
        (page("T", body_text="x" * (1024 * 1024)), "bomb.md: is 1,048,5"),
    ],
    ids=["alias-bomb", "alias-cycle", "deep-nesting", "liquid-doubling", "liquid-range", "huge-file"],
)
def test_small_files_that_would_cost_a_lot_stop_naming_the_file(publish, tmp_path, text, expected):
    site = write(tmp_path, {"good.md": page("Good"), "bomb.md": text})
    began = time.perf_counter()
    output = fails(publish, site)
    assert expected in output
    assert time.perf_counter() - began < 10
    assert table_keys() == set()
