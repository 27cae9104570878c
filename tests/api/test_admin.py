"""Staff routes: behind IAM, and doing what staff ask of them."""

from __future__ import annotations

import json

import pytest
from conftest import ENQUIRY, JSON, body, stored_submissions
from fake_aws import client_error

from app import app
from chalicelib import aws
from chalicelib.names import SOURCE_PREFIX
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


# Submissions ------------------------------------------------------------------


def failed_submission(client, aws_faults, worker) -> str:
    """An enquiry SES refused for good: failed at the first attempt."""
    aws_faults["SendEmail"] = client_error("MessageRejected")
    reference = body(client.http.post("/enquiries", headers=JSON, body=json.dumps(ENQUIRY)))["reference"]
    worker()
    del aws_faults["SendEmail"]
    return reference


def test_staff_list_failed_submissions_by_default(client, outbox, aws_faults, worker):
    reference = failed_submission(client, aws_faults, worker)
    other = {**ENQUIRY, "email": "grace@example.com"}
    client.http.post("/enquiries", headers=JSON, body=json.dumps(other))  # forwarded: not listed
    worker()

    response = client.http.get("/admin/submissions")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    listed = body(response)["submissions"]
    assert [item["reference"] for item in listed] == [reference]
    assert listed[0]["status"] == "failed"
    assert body(client.http.get("/admin/submissions?status=failed")) == body(response)


def test_staff_retry_a_failed_submission_once(client, outbox, aws_faults, worker):
    reference = failed_submission(client, aws_faults, worker)

    response = client.http.post(f"/admin/submissions/{reference}/retry")

    assert response.status_code == 200
    assert body(response)["reference"] == reference
    assert stored_submissions()[reference]["status"] == "forwarded"
    assert [email for email in outbox if reference in email["subject"] and email["to"] != [ENQUIRY["email"]]]
    again = client.http.post(f"/admin/submissions/{reference}/retry")
    assert again.status_code == 409
    assert body(again)["error"]["code"] == "already_forwarded"
    assert body(client.http.get("/admin/submissions"))["submissions"] == []


def test_staff_get_plain_errors_for_an_unknown_status_or_reference(client, outbox):
    wrong_status = client.http.get("/admin/submissions?status=lost")
    assert wrong_status.status_code == 400
    assert "status must be one of" in body(wrong_status)["error"]["message"]

    unknown = client.http.post("/admin/submissions/NLC-2222-3333/retry")
    assert unknown.status_code == 404
    assert outbox == []


def test_staff_answers_carry_no_cors_headers_even_for_the_sites_origin(client, outbox):
    origin = {"Origin": "http://localhost:8080"}
    public = client.http.get("/health", headers=origin)
    assert public.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"

    for response in (
        client.http.get("/admin/submissions", headers=origin),
        client.http.post("/admin/submissions/NLC-2222-3333/retry", headers=origin),
    ):
        assert not [name for name in response.headers if name.lower().startswith("access-control-")]
        assert "Vary" not in response.headers
