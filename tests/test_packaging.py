"""What Chalice ships: requirements.txt in step with pyproject, and the prod
CloudFormation package built on a clean copy of the project, small and lint-free."""
from __future__ import annotations

import json
import re
import tomllib
import zipfile

import pytest

from nlc_tools.cloudformation import template
from chalicelib.settings import CHALICE_CONFIG, PROJECT_DIR, Settings, stage_environment

# Provided on Lambda (boto3) or bundled by Chalice itself (chalice).
NOT_PACKAGED = {"chalice", "boto3"}
MAX_PACKAGE_BYTES = 10 * 1024 * 1024


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r} must be pinned with =="
            found[re.sub(r"[-_.]+", "-", name).lower()] = version
    return found


def test_requirements_txt_holds_exactly_the_runtime_dependencies_chalice_must_package():
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    runtime = pins(pyproject["project"]["dependencies"])
    shipped = pins((PROJECT_DIR / "requirements.txt").read_text().splitlines())
    assert shipped == {name: version for name, version in runtime.items() if name not in NOT_PACKAGED}
    dev = pins(pyproject["project"]["optional-dependencies"]["dev"])
    assert not set(shipped) & {re.sub(r"\[.*\]", "", name) for name in dev}


def test_liquid_stays_on_1x_whose_wheel_does_not_pull_in_babel():
    # python-liquid 2 depends on babel, a 10 MB wheel: it would double the package.
    shipped = pins((PROJECT_DIR / "requirements.txt").read_text().splitlines())
    assert shipped["python-liquid"].startswith("1.")


def test_package_is_small_and_holds_only_the_app_and_its_runtime_dependencies(prod_package):
    archive = prod_package / "deployment.zip"
    assert archive.stat().st_size < MAX_PACKAGE_BYTES
    names = zipfile.ZipFile(archive).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"app.py", "chalicelib", "pydantic", "pydantic_core", "liquid", "markdown_it", "yaml"} <= tops
    assert not tops & {"tests", "content", "moto", "pytest", "babel", "boto3", "botocore", "cfnlint"}


def test_packaged_template_has_the_provisioned_resources_unchanged(prod_package):
    packaged = json.loads((prod_package / "sam.json").read_text())
    ours = template(Settings.from_environment(stage_environment("prod")))
    for name, resource in ours["Resources"].items():
        assert packaged["Resources"][name] == resource
    assert packaged["Outputs"].items() >= ours["Outputs"].items()


def test_packaged_functions_have_the_stage_memory_timeout_policy_and_python(prod_package):
    packaged = json.loads((prod_package / "sam.json").read_text())["Resources"]
    stage = json.loads(CHALICE_CONFIG.read_text())["stages"]["prod"]
    policy = json.loads((PROJECT_DIR / ".chalice" / stage["iam_policy_file"]).read_text())
    logical = {"api_handler": "APIHandler", "index_content": "IndexContent"}
    functions = {name: r for name, r in packaged.items() if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) >= set(logical.values())
    for name, settings in stage["lambda_functions"].items():
        properties = functions[logical.get(name) or _chalice_logical_name(name)]["Properties"]
        assert properties["MemorySize"] == settings["lambda_memory_size"]
        assert properties["Timeout"] == settings["lambda_timeout"]
    for function in functions.values():
        assert function["Properties"]["Runtime"] == "python3.11"
        role = packaged[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [policy]


def _chalice_logical_name(function_name: str) -> str:
    return "".join(part.capitalize() for part in function_name.split("_"))


def test_every_staff_route_requires_signed_iam_requests_in_the_packaged_api(prod_package):
    packaged = json.loads((prod_package / "sam.json").read_text())["Resources"]
    swagger = packaged["RestAPI"]["Properties"]["DefinitionBody"]
    scheme = swagger["securityDefinitions"]["sigv4"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    staff = {
        (path, method)
        for path, methods in swagger["paths"].items()
        if path.startswith("/admin")
        for method in methods
        if method != "options"
    }
    assert staff, "the packaged API has no staff routes"
    for path, method in staff:
        assert swagger["paths"][path][method].get("security") == [{"sigv4": []}], (path, method)
    public = [
        (path, method)
        for path, methods in swagger["paths"].items()
        if not path.startswith("/admin")
        for method, spec in methods.items()
        if "security" in spec
    ]
    assert public == []


@pytest.fixture(scope="module")
def prod_package(project_copy, package_environment):
    import subprocess

    run = subprocess.run(
        ["scripts/package.sh", "prod", "build/package"],
        cwd=project_copy,
        env=package_environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "template passes cfn-lint" in run.stdout
    return project_copy / "build" / "package"
