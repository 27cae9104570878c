"""`nlc-api check`: what publishing would refuse or warn of, with no AWS
call, as text (publish --dry-run's words), JSON, or GitHub's workflow
commands, which are parsed here as GitHub parses them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.content.eleventy.problems import ContentError
from chalicelib.settings import PROJECT_DIR
from nlc_tools import cli
from nlc_tools.check import Checked, as_github

CONTENT = PROJECT_DIR / "content"
# A workflow command as the runner reads it from a step's output:
# ::command key=value,key=value::message (actions/runner's ActionCommand).
WORKFLOW_COMMAND = re.compile(r"^::(?P<command>[a-z-]+)(?: (?P<properties>[^:]*))?::(?P<message>.*)$")
ANNOTATION_PROPERTIES = {"file", "line", "endLine", "col", "endColumn", "title"}


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """The command, its properties and message, unescaped; AssertionError if
    the runner would not take the line for an annotation."""
    found = WORKFLOW_COMMAND.match(line)
    assert found, f"not a workflow command: {line!r}"
    assert found["command"] in ("error", "warning", "notice"), line
    properties = {}
    for pair in (found["properties"] or "").split(","):
        name, equals, value = pair.partition("=")
        assert equals and name in ANNOTATION_PROPERTIES, f"bad property {pair!r} in {line!r}"
        properties[name] = unescape(value, property_value=True)
    if "line" in properties:
        assert properties["line"].isdigit() and int(properties["line"]) >= 1, line
    assert "\n" not in line and "\r" not in line
    return found["command"], properties, unescape(found["message"])


def unescape(value: str, property_value: bool = False) -> str:
    escapes = [("%0D", "\r"), ("%0A", "\n")] + ([("%3A", ":"), ("%2C", ",")] if property_value else [])
    for escaped, plain in [*escapes, ("%25", "%")]:
        value = value.replace(escaped, plain)
    return value


def check(*argv: str, capsys) -> tuple[int, str, str]:
    status = cli.main(["check", *argv])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def site(tmp_path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(CONTENT, copy)
    return copy


def test_the_repository_content_passes_in_every_format(capsys):
    status, out, _ = check("--content", str(CONTENT), capsys=capsys)
    assert status == 0 and out.startswith("Would publish: 2 created")
    status, out, _ = check("--content", str(CONTENT), "--format", "json", capsys=capsys)
    assert status == 0
    assert json.loads(out) == {"problems": [], "pages": 2}
    status, out, _ = check("--content", str(CONTENT), "--format", "github", capsys=capsys)
    assert (status, out) == (0, "0 error(s), 0 warning(s): 2 page(s) would publish\n")


def break_order(site: Path) -> None:
    page = site / "pages" / "what-we-do.md"
    page.write_text(page.read_text().replace("order: 2\n", "order: x\n"))


def break_permalink(site: Path) -> None:
    (site / "pages" / "copy.md").write_text(
        "---\ntitle: Copy\npermalink: /what-we-do/index.html\n---\nA copy.\n"
    )


def break_template(site: Path) -> None:
    (site / "pages" / "broken.md").write_text("---\ntitle: Broken\n---\n\nFine.\n\n{{ title | nope }}\n")


@pytest.mark.parametrize(
    ("mend", "file", "line", "rule"),
    [
        (break_order, "pages/what-we-do.md", 5, "front-matter"),
        (break_permalink, "pages/what-we-do.md", 6, "duplicate-url"),
        (break_template, "pages/broken.md", 7, "template"),
    ],
)
def test_a_refused_file_is_named_with_its_line_and_rule_in_every_format(site, capsys, mend, file, line, rule):
    mend(site)
    status, out, err = check("--content", str(site), capsys=capsys)
    assert status == 1
    (refused,) = [text for text in out.splitlines() if text.startswith("error: ")]
    assert refused.startswith(f"error: {file}:{line}: ") and refused.endswith(f" [{rule}]")
    assert err == "nlc-api check: 1 problem(s) in the content; nothing was published\n"

    status, out, _ = check("--content", str(site), "--format", "json", capsys=capsys)
    assert status == 1
    found = json.loads(out)
    assert found["pages"] == 0
    (problem,) = found["problems"]
    assert (problem["file"], problem["line"], problem["rule"], problem["severity"]) == (
        file,
        line,
        rule,
        "error",
    )
    assert refused == f"error: {file}:{line}: {problem['message']} [{rule}]"

    status, out, _ = check("--content", str(site), "--format", "github", capsys=capsys)
    assert status == 1
    *commands, summary = out.splitlines()
    assert summary == "1 error(s), 0 warning(s): publish would refuse this content"
    (command,) = commands
    assert parse_workflow_command(command) == (
        "error",
        {"file": file, "line": str(line), "title": rule},
        problem["message"],
    )
    assert (site / file).is_file()  # relative to the folder checked, as the workflow's checkout is


def test_workflow_commands_keep_commas_colons_percents_and_newlines_as_written():
    odd = ContentError("pages/a,b:c.md", "50% off, see:\nthe next line", 3, "field", "odd-rule", "warning")
    lines = as_github(Checked([odd], 1, None))
    assert parse_workflow_command(lines[0]) == (
        "warning",
        {"file": "pages/a,b:c.md", "line": "3", "title": "odd-rule"},
        "field: 50% off, see:\nthe next line",
    )
    assert lines[1] == "0 error(s), 1 warning(s): 1 page(s) would publish"


def test_a_warning_passes_unless_strict(site, capsys):
    (site / "_data").mkdir()
    (site / "_data" / "build.js").write_text("module.exports = {};\n")
    status, out, _ = check("--content", str(site), capsys=capsys)
    assert status == 0
    assert "warning: _data/build.js: JavaScript data files cannot be read here; skipped [data-file]" in out
    status, out, _ = check("--content", str(site), "--format", "json", capsys=capsys)
    assert status == 0
    assert json.loads(out)["problems"] == [
        {
            "file": "_data/build.js",
            "line": None,
            "rule": "data-file",
            "severity": "warning",
            "message": "JavaScript data files cannot be read here; skipped",
        }
    ]
    for format in ("text", "json", "github"):
        status, _, err = check("--content", str(site), "--format", format, "--strict", capsys=capsys)
        assert status == 1, format
        assert err == (
            "nlc-api check: 0 error(s), 1 warning(s): 2 page(s) would publish, and --strict refuses warnings\n"
        )


def test_check_needs_no_aws_and_says_what_publish_dry_run_says_without_it(site, tmp_path):
    no_aws = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "NLC_"))}
    no_aws.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "nlc_tools.cli", *argv, "--content", str(site)],
            cwd=PROJECT_DIR,
            env=no_aws,
            capture_output=True,
            text=True,
            timeout=120,
        )

    checked, dry_run = run("check"), run("publish", "--stage", "dev", "--dry-run")
    assert (checked.returncode, dry_run.returncode) == (0, 0)
    assert (
        checked.stdout
        == dry_run.stdout
        == "Would publish: 2 created, 0 updated, 0 deleted, 0 unchanged; "
        + ("0 document(s) written, 3 file(s) uploaded to S3.\n")
    )
    assert "Not compared with the dev stage (no AWS credentials were found" in dry_run.stderr
    break_order(site)
    checked, dry_run = run("check"), run("publish", "--stage", "dev", "--dry-run")
    assert (checked.returncode, dry_run.returncode) == (1, 1)
    assert checked.stdout == dry_run.stdout
    assert "error: pages/what-we-do.md:5: order: must be a number" in checked.stdout
    assert "Traceback" not in checked.stderr + dry_run.stderr
