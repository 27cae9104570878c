"""Each stage's values in .chalice/config.json: complete, sane and its own."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

import pytest

from app import app
from chalicelib.settings import CHALICE_CONFIG, PROJECT_DIR, STAGES, Settings, stage_environment

DEPLOYED = ("dev", "prod")
API_GATEWAY_TIMEOUT_SECONDS = 29
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def config() -> dict:
    return json.loads(CHALICE_CONFIG.read_text())


def names_read() -> set[str]:
    """Every environment variable the settings read."""
    asked: set[str] = set()

    class Recording(dict):
        def get(self, name, default=None):
            asked.add(name)
            return super().get(name, default)

    Settings.from_environment(Recording(NLC_STAGE="local"))
    return asked


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_sets_every_setting_itself(stage):
    # A missing value would fall back to a default meant for another stage.
    assert names_read() <= set(stage_environment(stage))


@pytest.mark.parametrize("stage", STAGES)
def test_values_are_sane(stage):
    settings = Settings.from_environment(stage_environment(stage))
    assert settings.stage == stage
    assert BUCKET_NAME.match(settings.content_bucket)
    assert settings.retention_days > 0 and settings.cache_max_age >= 0
    assert (
        min(settings.rate_limit_per_ip, settings.rate_limit_per_email, settings.rate_limit_window_seconds) > 0
    )
    for mailbox in (settings.enquiries_mailbox, settings.accessible_format_mailbox, settings.sender):
        assert re.fullmatch(r"[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}", mailbox), mailbox
    assert settings.site_origins
    # Feeds and the sitemap link to the site itself.
    assert settings.site_url in settings.site_origins


@pytest.mark.parametrize("stage", DEPLOYED)
def test_deployed_stages_use_https_origins_on_their_own_site(stage):
    settings = Settings.from_environment(stage_environment(stage))
    for origin in settings.site_origins:
        parts = urlsplit(origin)
        assert (
            parts.scheme == "https"
            and parts.path == ""
            and parts.hostname.endswith("nationalleadership.gov.uk")
        )
    confirmation = urlsplit(settings.confirmation_url)
    assert f"{confirmation.scheme}://{confirmation.netloc}" in settings.site_origins
    assert settings.sender.endswith("nationalleadership.gov.uk")


@pytest.mark.parametrize("stage", DEPLOYED)
def test_a_deployed_build_hook_is_https_and_signed_with_the_stage_own_key(stage):
    settings = Settings.from_environment(stage_environment(stage))
    assert settings.publish_webhook_url == "" or urlsplit(settings.publish_webhook_url).scheme == "https"
    # The policy grants reading this one parameter (tests/deploy/test_iam.py).
    assert settings.publish_webhook_secret_parameter == f"/nlc/{stage}/publish-webhook-key"


def test_no_two_stages_share_a_bucket_table_or_sender():
    for field in ("content_bucket", "content_table", "submissions_table", "sender"):
        values = [getattr(Settings.from_environment(stage_environment(stage)), field) for stage in STAGES]
        assert len(set(values)) == len(values), field


@pytest.mark.parametrize("stage", DEPLOYED)
def test_deployed_stages_run_on_their_hand_written_policy(stage):
    settings = config()["stages"][stage]
    assert settings["autogen_policy"] is False
    assert settings["iam_policy_file"] == f"policy-{stage}.json"
    assert (PROJECT_DIR / ".chalice" / settings["iam_policy_file"]).is_file()


@pytest.mark.parametrize("stage", DEPLOYED)
def test_every_function_has_its_memory_and_timeout(stage):
    functions = config()["stages"][stage]["lambda_functions"]
    expected = {"api_handler"} | {source.name for source in app.event_sources}
    assert set(functions) == expected
    for name, sizes in functions.items():
        assert 128 <= sizes["lambda_memory_size"] <= 10240, name
        assert 1 <= sizes["lambda_timeout"] <= 900, name
    # API Gateway stops waiting at 29 s: a longer API timeout only costs.
    assert functions["api_handler"]["lambda_timeout"] < API_GATEWAY_TIMEOUT_SECONDS


@pytest.mark.parametrize("stage", DEPLOYED)
def test_deployed_stages_name_their_own_origin_secret_and_distribution_parameter(stage):
    settings = Settings.from_environment(stage_environment(stage))
    assert settings.origin_secret == f"nlc/{stage}/origin-verify"
    assert settings.distribution_parameter == f"/nlc/{stage}/distribution-id"
    assert 0 < settings.cache_stale_while_revalidate <= settings.cache_stale_if_error


def test_the_local_stage_has_no_cloudfront():
    settings = Settings.from_environment(stage_environment("local"))
    assert (settings.origin_secret, settings.distribution_parameter) == ("", "")
