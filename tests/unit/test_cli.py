"""The nlc-api command as a person at a terminal meets it: run as
`python -m nlc_tools.cli` in a fresh process with no AWS variables, or
through `cli.main`. Results on stdout, logs and problems on stderr, one
line and no traceback for what can be expected, exit status 2 for usage."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from chalicelib import aws
from chalicelib.settings import PROJECT_DIR, get_settings
from nlc_tools import cli

ENQUIRY = {"name": "Ada Lovelace", "email": "ada@example.com", "message": "How do I join?"}


@dataclass
class Result:
    status: int
    out: str
    err: str


def nlc_api(*argv: str, state: Path, env: dict[str, str] | None = None) -> Result:
    """The command in a new process, with no AWS or NLC variables but those given."""
    clean = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "NLC_"))}
    clean.update(NLC_LOCAL_STATE=str(state), **(env or {}))
    done = subprocess.run(
        [sys.executable, "-m", "nlc_tools.cli", *argv],
        cwd=PROJECT_DIR,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def assert_one_line_failure(result: Result, *expected: str) -> None:
    assert result.status == 1, result
    assert "Traceback" not in result.err, result.err
    problem = result.err.strip().splitlines()[-1]
    for text in expected:
        assert text in problem, result.err


@pytest.fixture
def state(tmp_path) -> Path:
    return tmp_path / "local-stack.json"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The command line itself ----------------------------------------------------------


def test_version(state):
    from importlib.metadata import version

    result = nlc_api("--version", state=state)
    assert (result.status, result.out.strip()) == (0, f"nlc-api {version('nlc-api')}")


@pytest.mark.parametrize(
    "argv",
    [
        ["submissions", "--stage", "bogus"],
        ["submissions", "--stage", "local", "--status", "bogus"],
        ["local", "--port", "eighty"],
        ["publish"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == 2
    assert "usage: nlc-api" in capsys.readouterr().err


def test_every_option_has_help_and_its_default(capsys):
    parser = cli.build_parser()
    assert "`" not in (parser.description or "")
    subcommands = next(action for action in parser._actions if action.dest == "command").choices
    for name, subcommand in subcommands.items():
        for action in subcommand._actions:
            assert action.help, f"nlc-api {name} {action.option_strings} has no help"
    with pytest.raises(SystemExit):
        cli.main(["local", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for default in ("(default: 8000)", "(default: 8080)", "the content folder (default: /"):
        assert default in shown


# AWS out of reach: one line that says what to do -----------------------------------


def test_a_dry_run_needs_no_aws(state):
    result = nlc_api("publish", "--stage", "dev", "--dry-run", state=state)
    assert result.status == 0, result
    assert "Would publish: 2 created" in result.out
    assert "checking the content alone" in result.err


def test_a_dry_run_reports_broken_content(state, tmp_path):
    (tmp_path / "bad.md").write_text("---\ntitle: T\norder: second\n---\n")
    result = nlc_api("publish", "--stage", "local", "--dry-run", "--content", str(tmp_path), state=state)
    assert "error: bad.md:3: order: must be a number, like 2" in result.out
    assert_one_line_failure(result, "1 problem(s) in the content; nothing was published")


def test_no_region_is_named_with_the_fix(state):
    result = nlc_api("submissions", "--stage", "dev", state=state)
    assert_one_line_failure(result, "no AWS region is set", "AWS_DEFAULT_REGION=eu-west-2")
    assert result.out == ""


def test_no_credentials_are_named_with_the_fix(state, tmp_path):
    nowhere = str(tmp_path / "none")
    result = nlc_api(
        "provision",
        "--stage",
        "dev",
        state=state,
        env={
            "AWS_DEFAULT_REGION": "eu-west-2",
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_EC2_METADATA_DISABLED": "true",
        },
    )
    assert_one_line_failure(result, "no AWS credentials were found", "--debug")


def test_debug_shows_the_traceback(state):
    result = nlc_api("submissions", "--stage", "dev", "--debug", state=state)
    assert result.status == 1
    assert "Traceback" in result.err and "NoRegionError" in result.err


@pytest.mark.parametrize("command", [["submissions"], ["publish"], ["retry"]])
def test_local_commands_say_when_the_local_stack_is_not_running(state, command):
    result = nlc_api(*command, "--stage", "local", state=state)
    assert_one_line_failure(result, "the local stack is not running", "make run")


def test_a_stale_state_file_is_not_trusted(state):
    state.write_text(json.dumps({"emulator": f"http://127.0.0.1:{free_port()}", "pid": 0}))
    result = nlc_api("submissions", "--stage", "local", state=state)
    assert_one_line_failure(result, "the local stack is not running", "nothing answers at")


# Checks before `nlc-api local` does any work ------------------------------------------


def test_a_busy_port_stops_the_local_stack_at_once(state):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = nlc_api("local", "--port", str(port), "--site-port", str(free_port()), state=state)
    assert_one_line_failure(result, f"port {port} (the API, --port) is in use")
    assert "AWS emulator" not in result.out  # nothing was started
    assert not state.exists()


def test_the_same_port_twice_is_refused(state):
    port = str(free_port())
    result = nlc_api("local", "--port", port, "--site-port", port, state=state)
    assert_one_line_failure(result, f"port {port} is asked for twice")


def test_broken_content_stops_the_local_stack_as_publish_reports_it(state, tmp_path):
    (tmp_path / "bad.md").write_text("---\ntitle: T\norder: second\n---\n")
    result = nlc_api(
        "local", "--port", str(free_port()), "--site-port", "0", "--content", str(tmp_path), state=state
    )
    assert "publish: error: bad.md:3: order: must be a number, like 2" in result.out
    assert_one_line_failure(result, "nlc-api local: 1 problem(s) in the content; nothing was published")
    assert not state.exists()


# Against a running local stack, found by its state file alone ---------------------------


@pytest.fixture
def running_stack(state, monkeypatch) -> Iterator[Path]:
    """An emulator in this process, provisioned and published to, named in a
    state file as `nlc-api local` writes it."""
    from moto.server import ThreadedMotoServer

    from chalicelib.content.publishing import publish as publishing
    from nlc_tools.local import use_emulator
    from nlc_tools.provision import provision

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, os.environ.get(name, ""))  # restored after the test
    use_emulator(endpoint)
    aws.reset_clients()
    provision(get_settings(), report=lambda _line: None)
    publishing.publish_directory(PROJECT_DIR / "content", report=lambda _line: None)
    state.write_text(json.dumps({"emulator": endpoint, "pid": 0}))
    try:
        yield state
    finally:
        server.stop()


def submit_enquiry(**extra: str) -> str:
    from chalicelib.submissions import intake

    return intake.submit("enquiry", {**ENQUIRY, **extra}, client_ip="192.0.2.1").reference


def test_staff_commands_find_the_local_stack_without_aws_variables(running_stack):
    reference = submit_enquiry()
    listed = nlc_api("submissions", "--stage", "local", state=running_stack)
    assert listed.status == 0, listed
    assert reference in listed.out and "1 submission(s)." in listed.out

    published = nlc_api("publish", "--stage", "local", state=running_stack)
    assert published.status == 0, published
    assert "Published: 0 created, 0 updated, 0 deleted, 2 unchanged" in published.out

    compared = nlc_api("publish", "--stage", "local", "--dry-run", state=running_stack)
    assert "Would publish: 0 created" in compared.out and compared.err == ""


def test_results_on_stdout_and_log_lines_on_stderr(running_stack, capsys):
    reference = submit_enquiry(website="autofilled")  # the honeypot: kept as spam, not sent
    capsys.readouterr()
    assert cli.main(["retry", "--stage", "local", "--reference", reference]) == 0
    printed = capsys.readouterr()
    assert printed.out == f"{reference}: forwarded\n"
    logged = [json.loads(line) for line in printed.err.splitlines()]
    assert {"type": "submission", "reference": reference, "status": "forwarded"}.items() <= logged[-1].items()


def test_the_local_stage_follows_the_example_site_port(monkeypatch):
    from nlc_tools.local import local_stage_settings

    for name in ("NLC_SITE_ORIGINS", "NLC_CONFIRMATION_URL"):
        monkeypatch.delenv(name)
    settings = local_stage_settings(9090)
    assert settings.site_origins == ("http://localhost:9090", "http://127.0.0.1:9090")
    assert settings.confirmation_url == "http://localhost:9090/request-received.html"


def test_the_local_stack_says_in_one_line_how_to_style_an_unstyled_example_site(tmp_path):
    from nlc_tools.local import GOVUK_FRONTEND, unstyled_site_note

    note = unstyled_site_note(tmp_path / "missing")
    assert note is not None and "\n" not in note
    assert "GOV.UK Frontend is not installed" in note
    assert "`npm ci --prefix examples/website`" in note
    (tmp_path / "govuk").mkdir()
    assert unstyled_site_note(tmp_path / "govuk") is None
    assert GOVUK_FRONTEND.parts[-5:] == ("website", "node_modules", "govuk-frontend", "dist", "govuk")
