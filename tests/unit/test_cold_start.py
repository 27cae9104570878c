"""A form post's cold start loads what validating and storing it needs, and
nothing that only reads, delivers, documents or looks up documents does; a
content read's loads nothing that renders or publishes (docs/performance.md,
"Cold start", gives the figures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chalicelib.settings import PROJECT_DIR, STAGES, stage_environment

# A fresh process as Lambda starts one: import the app, then answer one
# request. It is refused (an enquiry without a message, a read without a
# path), so it makes no AWS call, yet it is read, validated and answered as
# any such request is. Prints the modules it loaded.
FIRST_REQUEST = """
import json, sys
from app import app

method, path, body, headers = json.loads(sys.argv[1])
headers = {"Host": "localhost", **headers}
event = {
    "resource": path, "path": path, "httpMethod": method, "headers": headers,
    "multiValueHeaders": {name: [value] for name, value in headers.items()},
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
    "requestContext": {"resourcePath": path, "httpMethod": method, "stage": "api",
                       "identity": {"sourceIp": "127.0.0.1"}},
}
response = app(event, None)
assert response["statusCode"] == 400 and "message" in response["body"], response
print(json.dumps(sorted(sys.modules)))
"""


def first_request(method: str, path: str, body: str | None = None, headers: dict | None = None) -> set[str]:
    """The modules a cold start loads to answer one request."""
    request = json.dumps([method, path, body, headers or {}])
    loaded = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST, request],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    return set(json.loads(loaded))


def test_a_form_post_loads_neither_reads_delivery_nor_the_document_lookup():
    body = json.dumps({"name": "Ada Lovelace", "email": "ada@example.com"})
    modules = first_request("POST", "/enquiries", body, {"Content-Type": "application/json"})
    assert {"chalicelib.submissions.intake", "chalicelib.submissions.forms"} <= modules
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
            "pydantic",  # forms.check does what the models do, without their import
            "chalicelib.submissions.fields",
            "idna",  # needed for an internationalised domain only
            "email_validator",  # the library the address check is tested against, never run
        }
        & modules
    )


def test_a_content_read_loads_nothing_that_renders_or_publishes():
    modules = first_request("GET", "/content")
    assert "chalicelib.content.read.reads" in modules
    writers = ("chalicelib.content.eleventy", "chalicelib.content.publishing")
    assert [name for name in modules if name.startswith(writers)] == []
    # html.parser: the documents and the content checks parse pages at publish time only.
    assert not {"pydantic", "markdown_it", "yaml", "liquid", "jinja2", "html.parser"} & modules


@pytest.mark.parametrize("stage", STAGES)
def test_every_stage_skips_pydantic_plugin_scan(stage):
    # Looking for plugins reads every installed package's metadata on the
    # first validation of each cold start; the app uses none.
    assert stage_environment(stage)["PYDANTIC_DISABLE_PLUGINS"] == "__all__"


# Import-time budgets, as AWS Lambda Powertools keeps them: the processor
# time a fresh process takes to import the app and what one path needs
# before its AWS calls (the form checked; the content reads), the best of a
# few runs. Processor time, not the clock's: a busy machine (make test's
# workers, other people's work) stretched the clock's figures threefold, and
# these by a tenth. Measured on the 2-core development machine: form path
# 38 to 40 ms, read path 34 to 42 ms, loaded or not. pydantic (about 35 ms to
# import, 45 with a form's model built) on either path fails them
# (docs/performance.md).
FORM_PATH_BUDGET_MS = 70
READ_PATH_BUDGET_MS = 70
BUDGET_RUNS = 5
FORM_PATH = """
from chalicelib.submissions import forms, intake
forms.check("enquiry", {"name": "Ada Lovelace", "email": "ada@example.com", "message": "Hello"})
"""
READ_PATH = """
from chalicelib.web import content_api
content_api._reads()
"""


def _import_milliseconds(path: str) -> float:
    script = f"import time\nbegan = time.process_time()\nfrom app import app\n{path}\nprint((time.process_time() - began) * 1000)"
    env = {**os.environ, **stage_environment("prod")}
    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", script],
                cwd=PROJECT_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(BUDGET_RUNS)
    )


@pytest.mark.parametrize(
    ("path", "budget"),
    [(FORM_PATH, FORM_PATH_BUDGET_MS), (READ_PATH, READ_PATH_BUDGET_MS)],
    ids=["form", "read"],
)
def test_a_paths_imports_stay_within_its_budget(path, budget):
    assert _import_milliseconds(path) <= budget
