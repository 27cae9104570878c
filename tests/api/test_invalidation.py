"""After a publish that changed something, the stage's CloudFront forgets
exactly the answers whose items changed: one invalidation, never failing
the publish."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import boto3
import pytest
from conftest import SEED_CONTENT, create_distribution
from fake_aws import client_error

from chalicelib.content.publishing import invalidation

PARAMETER = "/nlc/local/distribution-id"


@pytest.fixture
def content(tmp_path) -> Path:
    return Path(shutil.copytree(SEED_CONTENT, tmp_path / "content"))


@pytest.fixture
def distribution(seeded, stage_settings, aws_calls) -> str:
    """A distribution for the local stage, noted as provisioning notes it."""
    made = create_distribution(boto3.client("cloudfront"))
    boto3.client("ssm").put_parameter(Name=PARAMETER, Value=made["Id"], Type="String")
    stage_settings(NLC_DISTRIBUTION_PARAMETER=PARAMETER)
    aws_calls.clear()
    return made["Id"]


def invalidated(distribution_id: str) -> list[list[str]]:
    """The paths of each invalidation made, oldest first."""
    cloudfront = boto3.client("cloudfront")
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    return [
        sorted(
            cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"][
                "InvalidationBatch"
            ]["Paths"]["Items"]
        )
        for item in reversed(listed.get("Items", []))
    ]


def retitle_and_retag(content: Path) -> None:
    page = content / "pages" / "what-we-do.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace("title: What We Do", "title: What we do now").replace("  - nav", "  - about"),
        encoding="utf-8",
    )


def test_a_changed_page_invalidates_its_answers_its_lists_and_its_old_and_new_tags(
    distribution, publish, content
):
    retitle_and_retag(content)
    assert "Published: 0 created, 1 updated" in publish(content)

    assert invalidated(distribution) == [
        [
            "/collections/about",
            "/collections/about?*",  # include=html, limit, cursor
            "/collections/nav",
            "/collections/nav?*",
            "/content*",  # every spelling of ?path=/what-we-do/
            "/documents",  # the page links to documents
            "/documents?*",
            "/pages",
            "/pages/what-we-do",
            "/pages?*",
            "/search*",
            "/sitemap.xml",  # not the feeds: they hold posts only
        ]
    ]


def test_an_unchanged_publish_invalidates_nothing_before_or_after_a_change(
    distribution, publish, content, aws_calls
):
    publish(content)
    assert not [call for call in aws_calls if call[0] == "CloudFront"]
    assert invalidated(distribution) == []

    retitle_and_retag(content)
    publish(content)
    (sent,) = [call.params for call in aws_calls if call == ("CloudFront", "CreateInvalidation")]
    assert sent["InvalidationBatch"]["CallerReference"].startswith("nlc-local-")
    publish(content)
    assert len(invalidated(distribution)) == 1


def test_a_stage_without_a_distribution_makes_no_cloudfront_call(
    seeded, publish, content, aws_calls, stage_settings
):
    retitle_and_retag(content)
    publish(content)  # the local stage names no parameter
    stage_settings(NLC_DISTRIBUTION_PARAMETER=PARAMETER)  # named, but not provisioned
    (content / "pages" / "about.md").write_text("---\ntitle: About\n---\n\nWho.\n", encoding="utf-8")
    assert "Published: 1 created" in publish(content)
    assert not [call for call in aws_calls if call[0] == "CloudFront"]


def test_a_failed_invalidation_is_logged_and_counted_and_the_publish_stands(
    distribution, publish, content, fake_aws, capsys
):
    fake_aws.fail("CreateInvalidation", client_error("TooManyInvalidationsInProgress", "CreateInvalidation"))
    retitle_and_retag(content)
    assert "Published: 0 created, 1 updated" in publish(content)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert {
        "type": "content",
        "event": "publish invalidation failed",
        "problem": "TooManyInvalidationsInProgress",
    } in lines
    assert any(line.get("PublishNoticesFailed") == 1 and line.get("kind") == "invalidation" for line in lines)


def test_past_cloudfront_limits_everything_is_invalidated_in_one_path():
    pages = [("page#" + f"p{number}", "-") for number in range(invalidation.MAX_PATHS + 1)]
    assert invalidation.paths(pages) == ["/*"]
    assert invalidation.paths(pages[:2]) == ["/pages/p0", "/pages/p1"]


def test_a_tag_is_encoded_and_never_widens_into_a_wildcard():
    assert invalidation.paths([("tag#Case studies*", "0001")]) == [
        "/collections/Case%20studies%2A",
        "/collections/Case%20studies%2A?*",
    ]
    assert invalidation.paths([("changes", "page#x"), ("release", "2026"), ("preview#/x/", "-")]) == []
