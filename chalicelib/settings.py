"""Stage settings, read once from environment variables.

Chalice sets each stage's variables from .chalice/config.json; the CLI applies
the same file with `apply_stage_environment`. A stdlib dataclass rather than
pydantic-settings keeps ~190 ms of imports out of every Lambda cold start;
tests/unit/test_settings.py validates every stage's values.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = PROJECT_DIR / ".chalice" / "config.json"
STAGES = ("local", "dev", "prod")


def _csv(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    stage: str
    content_table: str
    submissions_table: str
    content_bucket: str
    delivery_queue: str
    site_origins: tuple[str, ...]
    site_url: str  # the site's address, for absolute links in feeds and the sitemap
    cache_max_age: int
    # How long a cache may serve an expired answer while it fetches a fresh
    # one, and while the API fails (Cache-Control stale-while-revalidate,
    # stale-if-error).
    cache_stale_while_revalidate: int
    cache_stale_if_error: int
    enquiries_mailbox: str
    accessible_format_mailbox: str
    sender: str
    confirmation_url: str
    retention_days: int
    send_acknowledgements: bool
    rate_limit_per_ip: int
    rate_limit_per_email: int
    rate_limit_window_seconds: int
    # A build hook POSTed after each publish that changed something, signed
    # with the key in this SSM SecureString (never in settings): "" for none.
    publish_webhook_url: str
    publish_webhook_secret_parameter: str
    # CloudFront in front of the API (dev and prod; "" for none): the Secrets
    # Manager secret CloudFront sends in X-NLC-Origin-Verify, and the SSM
    # String parameter holding the distribution's id, for invalidations.
    origin_secret: str
    distribution_parameter: str
    # The site's GitHub repository (owner/repo) whose workflows may publish
    # through GitHub's OIDC, from this git ref only; "" for none.
    publish_repository: str = ""
    publish_ref: str = "refs/heads/main"

    @classmethod
    def from_environment(cls, env: os._Environ | dict = os.environ) -> Settings:
        stage = env.get("NLC_STAGE", "local")
        return cls(
            stage=stage,
            content_table=env.get("NLC_CONTENT_TABLE", f"nlc-{stage}-content"),
            submissions_table=env.get("NLC_SUBMISSIONS_TABLE", f"nlc-{stage}-submissions"),
            content_bucket=env.get("NLC_CONTENT_BUCKET", f"nlc-{stage}-content"),
            delivery_queue=env.get("NLC_DELIVERY_QUEUE", f"nlc-{stage}-deliveries"),
            site_origins=_csv(env.get("NLC_SITE_ORIGINS", "")),
            site_url=env.get("NLC_SITE_URL", "").rstrip("/"),
            cache_max_age=int(env.get("NLC_CACHE_MAX_AGE", "300")),
            cache_stale_while_revalidate=int(env.get("NLC_CACHE_STALE_WHILE_REVALIDATE", "300")),
            cache_stale_if_error=int(env.get("NLC_CACHE_STALE_IF_ERROR", "86400")),
            enquiries_mailbox=env.get("NLC_ENQUIRIES_MAILBOX", "nlc@cabinetoffice.gov.uk"),
            accessible_format_mailbox=env.get(
                "NLC_ACCESSIBLE_FORMAT_MAILBOX", "publiccorrespondence@cabinetoffice.gov.uk"
            ),
            sender=env.get("NLC_SENDER", "no-reply@nationalleadership.gov.uk"),
            confirmation_url=env.get("NLC_CONFIRMATION_URL", ""),
            retention_days=int(env.get("NLC_RETENTION_DAYS", "365")),
            send_acknowledgements=_flag(env.get("NLC_SEND_ACKNOWLEDGEMENTS", "true")),
            rate_limit_per_ip=int(env.get("NLC_RATE_LIMIT_PER_IP", "20")),
            rate_limit_per_email=int(env.get("NLC_RATE_LIMIT_PER_EMAIL", "5")),
            rate_limit_window_seconds=int(env.get("NLC_RATE_LIMIT_WINDOW_SECONDS", "3600")),
            publish_webhook_url=env.get("NLC_PUBLISH_WEBHOOK_URL", ""),
            publish_webhook_secret_parameter=env.get("NLC_PUBLISH_WEBHOOK_SECRET_PARAMETER", ""),
            origin_secret=env.get("NLC_ORIGIN_SECRET", ""),
            distribution_parameter=env.get("NLC_DISTRIBUTION_PARAMETER", ""),
            publish_repository=env.get("NLC_PUBLISH_REPOSITORY", ""),
            publish_ref=env.get("NLC_PUBLISH_REF", "refs/heads/main"),
        )


@functools.cache
def get_settings() -> Settings:
    return Settings.from_environment()


def stage_environment(stage: str) -> dict[str, str]:
    """The environment variables .chalice/config.json gives a stage."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}")
    config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    env = dict(config.get("environment_variables", {}))
    env.update(config["stages"][stage].get("environment_variables", {}))
    return env


def apply_stage_environment(stage: str) -> Settings:
    """Make this process see a stage's settings, as Chalice does for a Lambda.

    Variables already set in the environment win, so an operator can override
    one value without editing config.json.
    """
    for name, value in stage_environment(stage).items():
        os.environ.setdefault(name, value)
    get_settings.cache_clear()
    return get_settings()
