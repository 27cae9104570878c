"""Staff routes: behind IAM, and doing what staff ask of them."""
from __future__ import annotations

import pytest

from conftest import body

from app import app
from chalicelib import aws
from chalicelib.resources import SOURCE_PREFIX
from chalicelib.settings import get_settings


# Chalice's local mode cannot check IAM signatures and says so: API Gateway
# does, which test_packaging checks in the packaged API.
pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")


def routes():
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            yield path, method, entry


def test_every_staff_route_requires_iam_and_no_public_route_does():
    staff = [(path, method) for path, method, _ in routes() if path.startswith("/admin")]
    assert ("/admin/publish", "POST") in staff
    for path, method, entry in routes():
        kind = type(entry.authorizer).__name__ if entry.authorizer else None
        expected = "IAMAuthorizer" if path.startswith("/admin") else None
        assert kind == expected, (path, method)


def put_source(name: str, text: str) -> None:
    aws.s3().put_object(
        Bucket=get_settings().content_bucket, Key=SOURCE_PREFIX + name, Body=text.encode("utf-8")
    )


def test_publish_reindexes_what_is_in_the_bucket(client, seeded):
    put_source("pages/about.md", "---\ntitle: About us\n---\n\nWho we are.\n")

    response = client.http.post("/admin/publish")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body(response)["created"] == ["/pages/about/"]
    assert body(client.http.get("/content?path=/pages/about/"))["title"] == "About us"
    again = body(client.http.post("/admin/publish"))
    assert again["created"] == again["updated"] == again["deleted"] == []


def test_publish_of_broken_sources_says_what_is_wrong_and_changes_nothing(client, seeded):
    before = client.http.get("/content?path=/what-we-do/").body
    put_source("pages/broken.md", "---\ntitle: [unclosed\n---\n\nText.\n")

    response = client.http.post("/admin/publish")

    assert response.status_code == 422
    error = body(response)["error"]
    assert error["code"] == "content_invalid"
    assert any("pages/broken.md" in problem for problem in error["problems"])
    assert client.http.get("/content?path=/what-we-do/").body == before
