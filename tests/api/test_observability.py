"""What CloudWatch gets: one JSON line per request, and a failed-forwards
metric in the embedded metric format that an alarm can watch."""

from __future__ import annotations

import json

import pytest
from conftest import stored_submissions

from chalicelib import observability
from chalicelib.content.read import reads


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def request_lines(capsys) -> list[dict]:
    return [line for line in json_lines(capsys.readouterr().out) if line.get("type") == "request"]


def test_each_request_writes_one_line_with_its_route_status_and_duration(client, seeded, capsys):
    capsys.readouterr()
    client.http.get("/pages/what-we-do")
    client.http.get("/content?path=/no-such-page/")

    first, second = request_lines(capsys)
    assert first["method"] == "GET"
    assert first["route"] == "/pages/{slug}"
    assert first["status"] == 200
    assert isinstance(first["duration_ms"], float) and first["duration_ms"] >= 0
    assert "reference" not in first
    # The route's template, never the URL: no path, no query string.
    assert second["route"] == "/content" and second["status"] == 404
    assert "no-such-page" not in json.dumps(second)


def test_a_request_that_breaks_is_logged_as_a_500_without_detail(client, capsys, monkeypatch):
    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(reads, "list_pages", broken)
    capsys.readouterr()

    response = client.http.get("/pages")

    assert response.status_code == 500
    assert b"secret internals" not in response.body
    (line,) = request_lines(capsys)
    assert line["route"] == "/pages" and line["status"] == 500


def assert_embedded_metric(record: dict, name: str) -> None:
    """The embedded metric format's rules, as CloudWatch applies them."""
    metadata = record["_aws"]
    assert isinstance(metadata["Timestamp"], int) and metadata["Timestamp"] > 1_600_000_000_000
    (directive,) = metadata["CloudWatchMetrics"]
    assert directive["Namespace"] == observability.METRICS_NAMESPACE
    assert [metric["Name"] for metric in directive["Metrics"]] == [name]
    for dimensions in directive["Dimensions"]:
        assert all(isinstance(record[dimension], str) for dimension in dimensions)
    assert isinstance(record[name], (int, float))


def test_a_failed_forward_is_counted_as_a_metric_by_stage(capsys):
    observability.count_failed_forward("enquiry")

    (record,) = json_lines(capsys.readouterr().out)
    assert_embedded_metric(record, "FailedForwards")
    assert record["FailedForwards"] == 1
    assert record["Stage"] == "local"
    assert record["kind"] == "enquiry"


@pytest.mark.parametrize(
    ("headers", "form"),
    [
        ({"Content-Type": "application/json"}, False),
        ({"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}, True),
    ],
)
def test_the_reference_of_a_submission_is_in_its_request_line(client, outbox, headers, form, capsys):
    from urllib.parse import urlencode

    enquiry = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "Hello"}
    capsys.readouterr()
    response = client.http.post(
        "/enquiries", headers=headers, body=urlencode(enquiry) if form else json.dumps(enquiry)
    )

    assert response.status_code == (303 if form else 202)
    (line,) = request_lines(capsys)
    reference = stored_submissions().popitem()[0]
    assert line["reference"] == reference
    assert "ada@example.com" not in json.dumps(line)


def test_a_refused_submission_has_no_reference_in_its_request_line(client, capsys):
    capsys.readouterr()
    response = client.http.post("/enquiries", headers={"Content-Type": "application/json"}, body="{}")

    assert response.status_code == 400
    (line,) = request_lines(capsys)
    assert "reference" not in line
