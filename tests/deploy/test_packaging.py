"""What Chalice ships: requirements.txt exported from uv.lock, and the prod
CloudFormation package built on a clean copy of the project, small, lint-free,
on python3.13 and without the deploy-time tools."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from chalicelib.settings import CHALICE_CONFIG, PROJECT_DIR, Settings, stage_environment
from nlc_tools.bytecode import TRACE
from nlc_tools.cloudformation import (
    ALIAS,
    CHALICE_API_PERMISSION,
    CHALICE_REST_API,
    SNAPSTART_FUNCTIONS,
    template,
)

# Provided on Lambda (boto3, botocore) or bundled by Chalice itself (chalice).
NOT_PACKAGED = {"chalice", "boto3", "botocore"}
# What the package weighed before it shipped bytecode (4.9 MiB): no request
# path imports pydantic now, so only the code they run is compiled.
MAX_PACKAGE_BYTES = int(4.9 * 1024 * 1024)
RUNTIME = "python3.13"
# Deploy-time code (the CLI, the local stack, provisioning and its
# CloudFormation twin, the resources' specifications) runs on a developer's
# machine, never in a function.
TOOLS_PACKAGE = "nlc_tools/"
# The prod package is built for a site repository, so that it holds the
# publisher role too (its setting wins over .chalice/config.json's).
SITE_REPOSITORY = {"NLC_PUBLISH_REPOSITORY": "example-org/example-site"}
PACKAGED_PROD = {**stage_environment("prod"), **SITE_REPOSITORY}
TOOLS_MODULES = {
    "chalicelib/cli.py",
    "chalicelib/local.py",
    "chalicelib/provision.py",
    "chalicelib/cloudformation.py",
    "chalicelib/resources.py",
}
# What only the resources' specifications define.
SPECIFICATIONS = (b"class TableSpec", b"class BucketSpec", b"class DistributionSpec", b"API_DISTRIBUTION =")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{line!r} must be pinned with =="
            found[normalise(name)] = version.strip()
    return found


def shipped() -> dict[str, str]:
    return pins((PROJECT_DIR / "requirements.txt").read_text().splitlines())


def lock() -> dict[str, dict]:
    packages = tomllib.loads((PROJECT_DIR / "uv.lock").read_text())["package"]
    return {normalise(package["name"]): package for package in packages}


def runtime_closure(locked: dict[str, dict]) -> set[str]:
    """The project's locked runtime dependencies and all they depend on,
    except what Lambda or Chalice provide and whatever only those need."""
    pending = list(locked["nlc-api"].get("dependencies", []))
    found: set[str] = set()
    while pending:
        dep = pending.pop()
        name = normalise(dep["name"])
        if name in NOT_PACKAGED:
            continue
        package = locked[name]
        if name not in found:
            found.add(name)
            pending.extend(package.get("dependencies", []))
        for extra in dep.get("extra", []):
            pending.extend(package.get("optional-dependencies", {}).get(extra, []))
    return found


def test_requirements_txt_pins_the_locked_runtime_dependencies_chalice_must_package():
    locked = lock()
    requirements = shipped()
    assert set(requirements) <= set(locked), "shipped but not in uv.lock: run make lock"
    assert requirements == {name: locked[name]["version"] for name in requirements}, (
        "requirements.txt differs from uv.lock: run make lock"
    )
    assert set(requirements) == runtime_closure(locked), "run make lock"


def test_no_development_tool_or_provided_package_is_shipped():
    pyproject = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    names = (re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0] for dep in pyproject["dependency-groups"]["dev"])
    dev = {normalise(name) for name in names}
    assert dev >= {"pytest", "moto", "ruff", "mypy", "hypothesis", "cfn-lint"}
    assert not set(shipped()) & (dev | NOT_PACKAGED)


def test_liquid_stays_on_1x_whose_wheel_does_not_pull_in_babel():
    # python-liquid 2 depends on babel, a 10 MB wheel: it would double the package.
    assert shipped()["python-liquid"].startswith("1.")


def test_package_is_small_and_holds_only_the_app_and_its_runtime_dependencies(prod_package):
    archive = prod_package / "deployment.zip"
    assert archive.stat().st_size < MAX_PACKAGE_BYTES
    names = zipfile.ZipFile(archive).namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert {"app.py", "chalicelib", "pydantic", "pydantic_core", "liquid", "markdown_it", "yaml"} <= tops
    assert not tops & {
        "tests",
        "content",
        "moto",
        "pytest",
        "babel",
        "boto3",
        "botocore",
        "cfnlint",
        "ftfy",
        "wcwidth",
    }


def test_package_holds_no_cli_local_stack_provisioning_code_or_resource_specifications(prod_package):
    archive = zipfile.ZipFile(prod_package / "deployment.zip")
    names = archive.namelist()
    assert [name for name in names if name.startswith(TOOLS_PACKAGE)] == []
    assert sorted(TOOLS_MODULES & set(names)) == []
    modules = [name for name in names if name.startswith(("app.py", "chalicelib/")) and name.endswith(".py")]
    assert [name for name in modules if any(spec in archive.read(name) for spec in SPECIFICATIONS)] == []


def test_packaged_template_has_the_provisioned_resources_unchanged(prod_package):
    packaged = json.loads((prod_package / "sam.json").read_text())
    ours = template(Settings.from_environment(PACKAGED_PROD))
    merged = {CHALICE_REST_API, CHALICE_API_PERMISSION, *SNAPSTART_FUNCTIONS}  # into Chalice's own
    for name, resource in ours["Resources"].items():
        if name in merged:
            assert _contains(packaged["Resources"][name], resource), name
        else:
            assert packaged["Resources"][name] == resource
    assert packaged["Outputs"].items() >= ours["Outputs"].items()


def _contains(whole: object, part: object) -> bool:
    if isinstance(whole, dict) and isinstance(part, dict):
        return all(key in whole and _contains(whole[key], value) for key, value in part.items())
    return whole == part


def test_api_handler_and_delivery_worker_start_from_snapstart_on_an_alias_the_api_and_queue_use(prod_package):
    resources = json.loads((prod_package / "sam.json").read_text())["Resources"]
    functions = {name for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    snapstart = {name for name in functions if "SnapStart" in resources[name]["Properties"]}
    assert snapstart == {"APIHandler", "DeliverSubmissions"} == set(SNAPSTART_FUNCTIONS)
    for name in snapstart:
        properties = resources[name]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
        assert properties["AutoPublishAlias"] == ALIAS
    # SAM subscribes a function with an alias to its events through the alias.
    (event,) = resources["DeliverSubmissions"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    alias = {"Ref": f"APIHandlerAlias{ALIAS}"}
    assert resources[CHALICE_API_PERMISSION]["Properties"]["FunctionName"] == alias
    swagger = resources[CHALICE_REST_API]["Properties"]["DefinitionBody"]
    uris = {
        json.dumps(spec["x-amazon-apigateway-integration"]["uri"])
        for methods in swagger["paths"].values()
        for spec in methods.values()
    }
    assert len(swagger["paths"]) > 10 and uris == {
        json.dumps(
            {
                "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                f"${{APIHandlerAlias{ALIAS}}}/invocations"
            }
        )
    }


def _valid_bytecode(pyc: bytes, source: bytes) -> bool:
    """Whether Python would run this .pyc for this source without compiling:
    this Python's magic number, hash-based and checked, and the source's hash."""
    flags = int.from_bytes(pyc[4:8], "little")
    return (
        pyc[:4] == importlib.util.MAGIC_NUMBER
        and flags == 0b11
        and pyc[8:16] == importlib.util.source_hash(source)
    )


def test_every_bytecode_file_shipped_is_checked_and_valid_for_its_source(prod_package):
    archive = zipfile.ZipFile(prod_package / "deployment.zip")
    names = set(archive.namelist())
    compiled = [name for name in names if name.endswith(".pyc")]
    assert len(compiled) > 50
    for pyc in compiled:
        source = importlib.util.source_from_cache(pyc)  # refuses another Python's bytecode
        assert source in names, f"{pyc} has no source"
        assert _valid_bytecode(archive.read(pyc), archive.read(source)), f"{pyc} is stale or timestamp-based"


def test_every_module_a_request_or_the_delivery_worker_loads_has_its_bytecode(prod_package, tmp_path):
    # The package unzipped as Lambda has it: what the request paths load from
    # it is what would be compiled at every cold start without bytecode.
    archive = zipfile.ZipFile(prod_package / "deployment.zip")
    archive.extractall(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": str(tmp_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_DEFAULT_REGION": "eu-west-2",
    }
    loaded = subprocess.run(
        [sys.executable, "-c", TRACE], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    shipped = [
        Path(line).relative_to(tmp_path).as_posix()
        for line in loaded
        if line.startswith(str(tmp_path)) and line.endswith(".py")
    ]
    assert {"app.py", "chalice/app.py", "chalicelib/submissions/forms.py", "dateutil/tz/tz.py"} <= set(
        shipped
    )
    names = set(archive.namelist())
    missing = [name for name in shipped if importlib.util.cache_from_source(name) not in names]
    assert missing == []


def test_packaged_template_alarms_on_the_stage_metrics_to_the_topic_staff_subscribe_to(prod_package):
    resources = json.loads((prod_package / "sam.json").read_text())["Resources"]
    assert resources["AlertsTopic"]["Properties"]["TopicName"] == "nlc-prod-alerts"
    packaged_alarms = {
        resource["Properties"]["MetricName"]: resource["Properties"]
        for resource in resources.values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(packaged_alarms) == {"FailedForwards", "ContentRejected"}
    for alarm in packaged_alarms.values():
        assert alarm["Namespace"] == "NLC/API"
        assert alarm["Dimensions"] == [{"Name": "Stage", "Value": "prod"}]
        assert alarm["AlarmActions"] == [{"Ref": "AlertsTopic"}]


def test_packaged_template_sends_ses_delivery_events_to_eventbridge(prod_package):
    resources = json.loads((prod_package / "sam.json").read_text())["Resources"]
    assert resources["MailEvents"]["Properties"] == {"Name": "nlc-prod-mail"}
    destination = resources["MailEventsToEventBridge"]["Properties"]
    assert destination["ConfigurationSetName"] == {"Ref": "MailEvents"}
    assert sorted(destination["EventDestination"]["MatchingEventTypes"]) == [
        "BOUNCE",
        "COMPLAINT",
        "DELIVERY",
        "REJECT",
        "SEND",
    ]
    assert (
        "event-bus/default"
        in destination["EventDestination"]["EventBridgeDestination"]["EventBusArn"]["Fn::Sub"]
    )


def test_packaged_template_puts_cloudfront_in_front_of_the_rest_api_with_a_generated_secret(prod_package):
    packaged = json.loads((prod_package / "sam.json").read_text())
    resources = packaged["Resources"]
    secret = resources["OriginVerifySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["Name"] == "nlc/prod/origin-verify"
    assert "GenerateSecretString" in secret["Properties"] and "SecretString" not in secret["Properties"]
    config = resources["ApiDistribution"]["Properties"]["DistributionConfig"]
    (origin,) = config["Origins"]
    assert origin["DomainName"] == {"Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert origin["OriginPath"] == "/api"
    assert origin["OriginCustomHeaders"] == [
        {
            "HeaderName": "X-NLC-Origin-Verify",
            "HeaderValue": {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString}}"},
        }
    ]
    default = config["DefaultCacheBehavior"]
    assert default["CachePolicyId"] == {"Ref": "ApiContentCachePolicy"}
    assert default["AllowedMethods"] == ["GET", "HEAD", "OPTIONS"] and default["Compress"] is True
    assert {behaviour["PathPattern"] for behaviour in config["CacheBehaviors"]} == {
        "/enquiries",
        "/accessible-format-requests",
    }
    assert all(
        behaviour["OriginRequestPolicyId"] == {"Ref": "ApiFormsOriginRequestPolicy"}
        for behaviour in config["CacheBehaviors"]
    )
    cache = resources["ApiContentCachePolicy"]["Properties"]["CachePolicyConfig"]
    assert (cache["MinTTL"], cache["DefaultTTL"]) == (0, 0)
    key = cache["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert key["HeadersConfig"]["Headers"] == ["Origin"]
    forwarded = resources["ApiFormsOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert "CloudFront-Viewer-Address" in forwarded["HeadersConfig"]["Headers"]
    assert "Host" not in forwarded["HeadersConfig"]["Headers"]
    assert resources["ApiDistributionIdParameter"]["Properties"]["Value"] == {"Ref": "ApiDistribution"}
    assert packaged["Outputs"]["ApiDistributionDomain"]["Value"] == {
        "Fn::GetAtt": ["ApiDistribution", "DomainName"]
    }


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
        assert function["Properties"]["Runtime"] == RUNTIME
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
        env={**package_environment, **SITE_REPOSITORY},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "template passes cfn-lint" in run.stdout
    return project_copy / "build" / "package"


def test_the_template_gives_the_publisher_role_what_provisioning_gives_it():
    from nlc_tools import publisher

    settings = Settings.from_environment(PACKAGED_PROD)
    built = template(settings)
    assert built["Parameters"][publisher.PROVIDER_PARAMETER]["Default"] == ""
    provider = built["Resources"][publisher.PROVIDER_LOGICAL_NAME]
    assert provider["Condition"] == publisher.CREATE_PROVIDER  # unless the account's is given
    assert provider["Properties"] == {"Url": publisher.GITHUB_OIDC_URL, "ClientIdList": ["sts.amazonaws.com"]}
    role = built["Resources"][publisher.ROLE_LOGICAL_NAME]["Properties"]
    assert role["RoleName"] == "nlc-prod-publisher"
    either = {
        "Fn::If": [publisher.CREATE_PROVIDER, {"Ref": "GitHubOidcProvider"}, {"Ref": "GitHubOidcProviderArn"}]
    }
    assert role["AssumeRolePolicyDocument"] == publisher.trust_policy(settings, either)
    # The policy provisioning gives, its region and account filled in by CloudFormation.
    (policy,) = role["Policies"]

    def resolve(value):
        if isinstance(value, dict) and list(value) == ["Fn::Sub"]:
            return (
                value["Fn::Sub"].replace("${AWS::Region}", "eu-west-2").replace("${AWS::AccountId}", "1234")
            )
        if isinstance(value, dict):
            return {key: resolve(item) for key, item in value.items()}
        return [resolve(item) for item in value] if isinstance(value, list) else value

    assert resolve(policy["PolicyDocument"]) == publisher.permissions(settings, "eu-west-2", "1234")
    assert built["Outputs"]["PublisherRoleArn"]["Value"] == {"Fn::GetAtt": ["PublisherRole", "Arn"]}


def test_packaged_template_takes_the_account_github_provider_or_makes_it(prod_package):
    # Merged into Chalice's template (and linted by cfn-lint with it).
    packaged = json.loads((prod_package / "sam.json").read_text())
    assert packaged["Parameters"]["GitHubOidcProviderArn"]["Default"] == ""
    assert packaged["Conditions"]["CreateGitHubOidcProvider"] == {
        "Fn::Equals": [{"Ref": "GitHubOidcProviderArn"}, ""]
    }
    assert packaged["Resources"]["PublisherRole"]["Properties"]["RoleName"] == "nlc-prod-publisher"


def test_the_template_has_no_publisher_role_without_a_site_repository():
    built = template(Settings.from_environment(stage_environment("prod")))
    assert "PublisherRole" not in built["Resources"] and "Parameters" not in built


def test_the_template_refuses_a_site_repository_that_is_not_one_repository(monkeypatch):
    from nlc_tools import cli

    monkeypatch.setenv("NLC_PUBLISH_REPOSITORY", "example-org/*")
    with pytest.raises(
        cli.CommandError, match="NLC_PUBLISH_REPOSITORY must be owner/repo, not 'example-org/\\*'"
    ):
        cli.run(["cloudformation", "--stage", "prod"])
