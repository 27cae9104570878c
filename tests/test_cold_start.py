"""A form post's cold start loads what validating and storing it needs, and
nothing that only reads, delivers, documents or looks up documents does; a
content read's loads nothing that renders or publishes (README
"Performance" gives the figures)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chalicelib.settings import PROJECT_DIR, STAGES, stage_environment

# A fresh process as Lambda starts one: import the app, then answer one
# enquiry. It is refused (no message), so it makes no AWS call, yet it is
# read, validated (its address too) and answered as any enquiry is.
FIRST_FORM_POST = """
import json, sys
from app import app

body = json.dumps({"name": "Ada Lovelace", "email": "ada@example.com"})
headers = {"Host": "localhost", "Content-Type": "application/json"}
event = {
    "resource": "/enquiries", "path": "/enquiries", "httpMethod": "POST", "headers": headers,
    "multiValueHeaders": {name: [value] for name, value in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/enquiries", "httpMethod": "POST", "stage": "api",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
response = app(event, None)
assert response["statusCode"] == 400 and "message" in response["body"], response
print(json.dumps(sorted(sys.modules)))
"""


def test_a_form_post_loads_neither_reads_delivery_nor_the_document_lookup():
    loaded = subprocess.run(
        [sys.executable, "-c", FIRST_FORM_POST], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    modules = set(json.loads(loaded))
    assert {"pydantic", "chalicelib.submissions.intake", "email_validator"} <= modules
    assert (
        not {
            "chalicelib.content.read.reads",
            "chalicelib.tables.content_table",
            "chalicelib.submissions.delivery",
            "chalicelib.submissions.emails",
            "chalicelib.submissions.ses",
            "chalicelib.submissions.document_lookup",
            "chalicelib.web.openapi",
            "chalicelib.names",  # the names shared with the deploy-time definitions
            "dns",  # email-validator checks syntax only: no DNS lookups
        }
        & modules
    )


# A fresh process answering one content read: it is refused (no path), so it
# makes no AWS call, yet it goes through the content reads as any read does.
FIRST_CONTENT_GET = """
import json, sys
from app import app

headers = {"Host": "localhost"}
event = {
    "resource": "/content", "path": "/content", "httpMethod": "GET", "headers": headers,
    "multiValueHeaders": {name: [value] for name, value in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
    "requestContext": {"resourcePath": "/content", "httpMethod": "GET", "stage": "api",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
response = app(event, None)
assert response["statusCode"] == 400 and "path" in response["body"], response
print(json.dumps(sorted(sys.modules)))
"""


def test_a_content_read_loads_nothing_that_renders_or_publishes():
    loaded = subprocess.run(
        [sys.executable, "-c", FIRST_CONTENT_GET], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout.splitlines()[-1]
    modules = set(json.loads(loaded))
    assert "chalicelib.content.read.reads" in modules
    writers = ("chalicelib.content.eleventy", "chalicelib.content.publishing")
    assert [name for name in modules if name.startswith(writers)] == []
    assert not {"pydantic", "markdown_it", "yaml", "liquid", "jinja2"} & modules


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_skips_pydantic_plugin_scan(stage):
    # Looking for plugins reads every installed package's metadata on the
    # first validation of each cold start; the app uses none.
    assert stage_environment(stage)["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
