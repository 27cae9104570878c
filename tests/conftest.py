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
    from chalicelib.provision import provision

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
    from chalicelib import cli

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
