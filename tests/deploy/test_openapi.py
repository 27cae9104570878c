"""GET /openapi.json: a valid OpenAPI 3.1 document of every public route,
which the API keeps to under a schemathesis run against the local stack."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest
from conftest import body
from openapi_spec_validator import OpenAPIV31SpecValidator

from chalicelib.settings import PROJECT_DIR

# What "breaks the document": a server error, or a status, content type,
# header or body that the document does not describe.
CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
# Random cases per operation, after the coverage phase's boundary cases
# (about 600 in all): 25 made the whole run half as long again as 10 do.
EXAMPLES_PER_OPERATION = 10
SEED = 20240601  # fixed, so a failure found in CI reproduces on a laptop
STACK_START_SECONDS = 90
RUN_SECONDS = 240


def test_the_document_is_valid_openapi_3_1(client):
    response = client.http.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["ETag"]
    document = body(response)
    assert document["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(document).validate()


def test_it_documents_every_public_route_and_no_staff_route(client):
    from app import app

    documented = {
        (path, method.upper())
        for path, operations in body(client.http.get("/openapi.json"))["paths"].items()
        for method in operations
    }
    public = {
        (path, method)
        for path, methods in app.routes.items()
        if not path.startswith("/admin")
        for method in methods
    }
    assert documented == public


def test_request_bodies_are_the_models_that_validate_the_forms(client):
    from chalicelib.submissions.fields import AccessibleFormatRequest, EnquiryRequest
    from chalicelib.web.forms_api import FORM_CONTENT_TYPES

    document = body(client.http.get("/openapi.json"))
    schemas = document["components"]["schemas"]
    for model in (EnquiryRequest, AccessibleFormatRequest):
        # By the names they are posted by (`bot-field`).
        posted = {name: field.alias or name for name, field in model.model_fields.items()}
        assert set(schemas[model.__name__]["properties"]) == set(posted.values())
        assert set(schemas[model.__name__]["required"]) == {
            posted[name] for name, field in model.model_fields.items() if field.is_required()
        }
    # Every media type the routes take, each with the form's model.
    for path, model in (
        ("/enquiries", EnquiryRequest),
        ("/accessible-format-requests", AccessibleFormatRequest),
    ):
        content = document["paths"][path]["post"]["requestBody"]["content"]
        assert list(content) == FORM_CONTENT_TYPES
        assert "multipart/form-data" in content
        assert {media["schema"]["$ref"] for media in content.values()} == {
            f"#/components/schemas/{model.__name__}"
        }


def test_the_document_and_pydantic_stay_off_the_cold_start():
    loaded = subprocess.run(
        [sys.executable, "-c", "import json, sys, app; print(json.dumps(sorted(sys.modules)))"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = set(json.loads(loaded))
    assert (
        not {
            "pydantic",
            "boto3",
            "chalicelib.web.openapi",
            "chalicelib.submissions.intake",
            "chalicelib.content.eleventy.rendering",
            "chalicelib.content.publishing",
        }
        & modules
    )


# Schemathesis against the local stack ---------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_line(process: subprocess.Popen, marker: str, seconds: float) -> None:
    """Wait until the process prints a line holding `marker`, reading all of
    its output in a thread from then on (a pipe left full would stop it)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen = []
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if marker in line:
            return
    raise AssertionError(f"the local stack did not start:\n{''.join(seen)}")


@pytest.fixture
def local_stack(tmp_path_factory):
    """`nlc-api local` on a free loopback port, stopped after the test; its
    state file its own, so no other test's CLI finds this stack."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NLC_"))}
    env["NLC_LOCAL_STATE"] = str(tmp_path_factory.mktemp("local-stack") / "local-stack.json")
    process = subprocess.Popen(
        [Path(sys.executable).parent / "nlc-api", "local", "--port", str(port), "--site-port", "0"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_line(process, "Press Ctrl+C", STACK_START_SECONDS)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(local_stack, tmp_path):
    run = subprocess.run(
        [
            Path(sys.executable).parent / "st",
            "--config-file",
            PROJECT_DIR / "tests" / "schemathesis.toml",
            "run",
            f"{local_stack}/openapi.json",
            "--url",
            local_stack,
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
            "--generation-database",
            "none",
            "--workers",
            "2",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            tmp_path,
        ],
        cwd=tmp_path,  # where schemathesis keeps its state
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    from chalicelib.web.openapi import document

    (report,) = tmp_path.glob("junit-*.xml")
    tested = {case.get("name") for case in ElementTree.parse(report).iter("testcase")}
    documented = {
        f"{method.upper()} {path}" for path, methods in document()["paths"].items() for method in methods
    }
    # Schemathesis leaves out the document's own address.
    assert tested >= documented - {"GET /openapi.json"}, summary
