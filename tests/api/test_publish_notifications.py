"""After a publish that changed something: an EventBridge event, and the
stage's build hook POSTed, signed, retried within bounds, never failing the
publish."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path

import boto3
import pytest
from build_hook import Hook
from conftest import SEED_CONTENT
from fake_aws import client_error
from standardwebhooks import Webhook, WebhookVerificationError

from chalicelib import clock
from chalicelib.content.publishing import notifications

# The Standard Webhooks form of a secret: whsec_ and the key in base64.
HOOK_KEY = "whsec_" + base64.b64encode(b"a key only the build hook and SSM know").decode()
KEY_PARAMETER = "/nlc/local/publish-webhook-key"


def put_events(aws_calls) -> list[dict]:
    return [call.params for call in aws_calls if call == ("EventBridge", "PutEvents")]


def published_details(aws_calls) -> list[dict]:
    """Each event's changes; every event names its release and when it went live."""
    details = []
    for params in put_events(aws_calls):
        for entry in params["Entries"]:
            assert (entry["Source"], entry["DetailType"]) == ("nlc.content", "Content published")
            detail = json.loads(entry["Detail"])
            assert detail.pop("release") and detail.pop("published_at")
            details.append(detail)
    return details


@pytest.fixture
def content(tmp_path) -> Path:
    """A copy of the seed content, to add pages to."""
    return Path(shutil.copytree(SEED_CONTENT, tmp_path / "content"))


def add_page(content: Path, name: str = "about") -> None:
    (content / "pages" / f"{name}.md").write_text(f"---\ntitle: {name}\n---\n\nWords.\n", encoding="utf-8")


def test_an_unchanged_publish_puts_no_event_and_one_that_adds_a_page_puts_one(
    seeded, publish, content, aws_calls
):
    publish(content)
    assert put_events(aws_calls) == []

    add_page(content)
    publish(content)
    assert published_details(aws_calls) == [
        {"stage": "local", "created": ["/pages/about/"], "updated": [], "deleted": []}
    ]


def test_a_removed_page_is_announced_by_the_url_path_it_leaves(seeded, publish, content, aws_calls):
    add_page(content)
    publish(content)
    aws_calls.clear()

    (content / "pages" / "about.md").unlink()
    publish(content)

    assert published_details(aws_calls) == [
        {"stage": "local", "created": [], "updated": [], "deleted": ["/pages/about/"]}
    ]


def test_a_failed_put_events_is_logged_and_counted_and_the_publish_stands(
    seeded, publish, content, fake_aws, aws_calls, capsys
):
    fake_aws.fail("PutEvents", client_error("InternalFailure", "PutEvents"))
    add_page(content)
    output = publish(content)
    assert "Published: 1 created" in output
    assert len(put_events(aws_calls)) == 1
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert {"type": "content", "event": "publish event failed", "problem": "InternalFailure"} in logged
    assert any(line.get("PublishNoticesFailed") == 1 and line["kind"] == "event" for line in logged)


# The build hook ------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The build hook's waits between tries, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(clock, "sleep", waited.append)
    return waited


@pytest.fixture
def hook_stage(seeded, stage_settings):
    def configure(url: str) -> None:
        boto3.client("ssm").put_parameter(Name=KEY_PARAMETER, Value=HOOK_KEY, Type="SecureString")
        stage_settings(NLC_PUBLISH_WEBHOOK_URL=url, NLC_PUBLISH_WEBHOOK_SECRET_PARAMETER=KEY_PARAMETER)

    return configure


def verify(headers, body: bytes) -> dict:
    """What a receiver does with the Standard Webhooks library: the payload, or WebhookVerificationError."""
    return Webhook(HOOK_KEY).verify(body, {name.lower(): value for name, value in headers.items()})


def test_the_build_hook_gets_the_changes_signed_to_the_standard_webhooks_specification(
    hook_stage, publish, content, waits, aws_calls
):
    with Hook([]) as hook:
        hook_stage(hook.url)
        publish(content)  # unchanged: no call
        assert hook.received == []
        add_page(content)
        publish(content)

    ((headers, body),) = hook.received
    payload = verify(headers, body)
    assert payload == json.loads(body)
    assert {key: payload[key] for key in ("stage", "created", "updated", "deleted")} == {
        "stage": "local",
        "created": ["/pages/about/"],
        "updated": [],
        "deleted": [],
    }
    assert payload["release"] and payload["published_at"]
    assert headers["Content-Type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")
    assert "X-NLC-Signature" not in headers
    with pytest.raises(WebhookVerificationError):
        verify(headers, body.replace(b"/pages/about/", b"/pages/other/"))
    (get,) = [call.params for call in aws_calls if call == ("SSM", "GetParameter")]
    assert get == {"Name": KEY_PARAMETER, "WithDecryption": True}
    assert waits == []


def test_a_receiver_refuses_a_call_signed_ten_minutes_ago(hook_stage, publish, content, submissions_clock):
    with Hook([]) as hook:
        hook_stage(hook.url)
        submissions_clock.offset = -600
        add_page(content)
        publish(content)
    ((headers, body),) = hook.received
    assert int(headers["webhook-timestamp"]) <= time.time() - 590
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(headers, body)


def test_two_publishes_with_the_same_changes_send_different_bodies(hook_stage, publish, content, waits):
    # A receiver must tell a replay of one publish from a second publish.
    with Hook([]) as hook:
        hook_stage(hook.url)
        add_page(content)
        publish(content)
        (content / "pages" / "about.md").unlink()
        publish(content)
        add_page(content)
        publish(content)
    first, _, third = hook.received
    assert json.loads(first[1])["created"] == json.loads(third[1])["created"] == ["/pages/about/"]
    assert first[1] != third[1]
    assert first[0]["webhook-id"] != third[0]["webhook-id"]


def test_a_key_not_in_the_specification_form_signs_nothing(hook_stage, publish, content, capsys):
    with Hook([]) as hook:
        hook_stage(hook.url)
        boto3.client("ssm").put_parameter(
            Name=KEY_PARAMETER, Value="raw key", Type="SecureString", Overwrite=True
        )
        add_page(content)
        publish(content)
    assert hook.received == []
    assert "whsec_" in capsys.readouterr().err


def test_the_build_hook_is_tried_again_after_a_fault_with_growing_waits(hook_stage, publish, content, waits):
    with Hook([503, 502]) as hook:
        hook_stage(hook.url)
        add_page(content)
        publish(content)
    assert len(hook.received) == 3
    assert len({body for _, body in hook.received}) == 1
    # One notice, one id, however often it is tried; each try verifies.
    assert len({headers["webhook-id"] for headers, _ in hook.received}) == 1
    for headers, body in hook.received:
        verify(headers, body)
    assert waits == list(notifications.HOOK_WAITS_SECONDS)


def test_a_hook_that_keeps_failing_is_given_up_on_after_its_tries_and_the_publish_stands(
    hook_stage, publish, content, waits, capsys
):
    with Hook([500] * 10) as hook:
        hook_stage(hook.url)
        add_page(content)
        output = publish(content)
    assert "Published: 1 created" in output
    assert len(hook.received) == notifications.HOOK_TRIES
    assert sum(waits) == sum(notifications.HOOK_WAITS_SECONDS)
    logged = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert {"type": "content", "event": "publish webhook failed", "problem": "HTTP 500"} in logged


def test_a_hook_refusing_the_request_is_not_asked_again(hook_stage, publish, content, waits):
    with Hook([403]) as hook:
        hook_stage(hook.url)
        add_page(content)
        publish(content)
    assert len(hook.received) == 1 and waits == []


def test_no_hook_is_called_without_the_key_to_sign_it(seeded, stage_settings, publish, content, capsys):
    with Hook([]) as hook:
        stage_settings(
            NLC_PUBLISH_WEBHOOK_URL=hook.url, NLC_PUBLISH_WEBHOOK_SECRET_PARAMETER="/nlc/local/missing"
        )
        add_page(content)
        publish(content)
    assert hook.received == []
    assert '"problem":"ParameterNotFound"' in capsys.readouterr().err
