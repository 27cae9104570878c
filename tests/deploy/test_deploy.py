"""The deploy rehearsal: on a clean copy of the project, against the AWS
emulator, the documented commands in order, then `chalice delete`.

moto stands in for AWS, so this proves the commands, the configuration and
the policies work together; it cannot run the functions (moto needs Docker
for that) nor enforce IAM (it records the policies; the packaged template's
test checks the staff routes' authorizer).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from conftest import DOCTOR_CHECKS
from emulator import emulator_environment, running_emulator

from chalicelib.settings import PROJECT_DIR, Settings, stage_environment

STAGE = "dev"
# The operators' page, whose Deploy section this rehearses.
DEPLOYING = PROJECT_DIR / "docs" / "deploying.md"
FUNCTIONS = {
    "api_handler": "nlc-api-dev",
    "retry_submissions": "nlc-api-dev-retry_submissions",
    "index_content": "nlc-api-dev-index_content",
}


@pytest.fixture(scope="module")
def emulator():
    with running_emulator() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def run(project_copy, package_environment, emulator):
    env = emulator_environment(emulator, package_environment)
    # Chalice builds the package with pip: from the wheelhouse, never the network.
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=package_environment["WHEELHOUSE"])
    bin_dir = Path(sys.executable).parent

    def command(*args: str) -> subprocess.CompletedProcess:
        program = [sys.executable, "-m", "nlc_tools.cli"] if args[0] == "nlc-api" else [bin_dir / args[0]]
        done = subprocess.run(
            [*program, *args[1:]], cwd=project_copy, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    return command


@pytest.fixture(scope="module")
def aws(emulator):
    def client(service: str):
        return boto3.client(
            service,
            endpoint_url=emulator,
            region_name="eu-west-2",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def documented_sequence() -> list[list[str]]:
    """The commands of the Deploy section of docs/deploying.md, for this stage."""
    section = DEPLOYING.read_text(encoding="utf-8").split("\n## Deploy\n", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].split() for line in block.splitlines()]
    return [
        [STAGE if word == "prod" else word for word in command]
        for command in commands
        if command and command[0] in ("nlc-api", "python", "chalice")
    ]


@pytest.fixture(scope="module")
def deployed(run, project_copy):
    """docs/deploying.md's sequence, as staff run it."""
    sequence = documented_sequence()
    assert [command[:2] for command in sequence] == [
        ["nlc-api", "provision"],
        ["python", "-m"],  # nlc_tools.bytecode: the bytecode chalice deploy then ships
        ["chalice", "deploy"],
        ["nlc-api", "provision"],
        ["nlc-api", "publish"],
    ]
    return [run(*command) for command in sequence]


def test_chalice_deploy_ships_the_bytecode_compiled_before_it(deployed, project_copy):
    # Chalice deploys the zip it built (and keeps) in .chalice/deployments.
    (built,) = (project_copy / ".chalice" / "deployments").glob("*.zip")
    names = set(zipfile.ZipFile(built).namelist())
    for module in ("app.py", "chalice/app.py", "chalicelib/submissions/forms.py", "dateutil/tz/tz.py"):
        assert importlib.util.cache_from_source(module) in names


def test_api_gateway_answers_an_unknown_route_in_the_api_error_shape(deployed, aws):
    gateway = aws("apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    answer = gateway.get_gateway_response(restApiId=api["id"], responseType="MISSING_AUTHENTICATION_TOKEN")
    assert answer["statusCode"] == "404"
    assert json.loads(answer["responseTemplates"]["application/json"])["error"]["code"] == "not_found"
    assert "answered MISSING_AUTHENTICATION_TOKEN in the API's error shape" in deployed[3].stdout


def test_provision_deploy_and_publish_succeed(deployed):
    provision, _, deploy, _, publish = deployed
    assert "created table nlc-dev-submissions" in provision.stdout
    assert "Rest API URL: https://" in deploy.stdout
    assert "Published: 2 created" in publish.stdout


def test_provision_after_deploy_puts_cloudfront_in_front_of_the_deployed_api(deployed, aws):
    _, _, _, provision, _ = deployed
    (api,) = aws("apigateway").get_rest_apis()["items"]
    cloudfront = aws("cloudfront")
    (distribution,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    (origin,) = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]["Origins"][
        "Items"
    ]
    assert origin["DomainName"] == f"{api['id']}.execute-api.eu-west-2.amazonaws.com"
    assert origin["OriginPath"] == "/api"
    assert f"The website's API address: https://{distribution['DomainName']}" in provision.stdout
    noted = aws("ssm").get_parameter(Name="/nlc/dev/distribution-id")["Parameter"]["Value"]
    assert noted == distribution["Id"]
    # The first publish created pages: CloudFront was told to forget their answers.
    (made,) = cloudfront.list_invalidations(DistributionId=distribution["Id"])["InvalidationList"]["Items"]
    assert made["Id"]


def test_the_functions_run_python_3_13_with_the_stage_settings_and_policy(deployed, aws, project_copy):
    config = json.loads((project_copy / ".chalice" / "config.json").read_text())["stages"][STAGE]
    policy = json.loads((project_copy / ".chalice" / config["iam_policy_file"]).read_text())
    settings = Settings.from_environment(stage_environment(STAGE))
    lambda_, iam = aws("lambda"), aws("iam")
    for name, function_name in FUNCTIONS.items():
        function = lambda_.get_function_configuration(FunctionName=function_name)
        assert function["Runtime"] == "python3.13"
        assert function["Environment"]["Variables"]["NLC_SUBMISSIONS_TABLE"] == settings.submissions_table
        sized = config["lambda_functions"].get(name)
        if sized:
            assert function["MemorySize"] == sized["lambda_memory_size"]
            assert function["Timeout"] == sized["lambda_timeout"]
        role = function["Role"].rsplit("/", 1)[1]
        (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
        granted = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
        assert granted == policy
        assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []


def test_the_api_has_every_route_deployed_to_its_stage(deployed, aws):
    from app import app

    gateway = aws("apigateway")
    (api,) = gateway.get_rest_apis()["items"]
    assert api["name"] == "nlc-api"
    deployed_routes = {
        (resource["path"], method)
        for resource in gateway.get_resources(restApiId=api["id"], limit=500)["items"]
        for method in resource.get("resourceMethods", {})
    }
    assert {(path, method) for path, methods in app.routes.items() for method in methods} <= deployed_routes
    assert [stage["stageName"] for stage in gateway.get_stages(restApiId=api["id"])["item"]] == ["api"]


def test_the_retry_schedule_and_the_indexing_rule_target_their_functions(deployed, aws):
    events, lambda_ = aws("events"), aws("lambda")
    targets = {}
    for rule in events.list_rules()["Rules"]:
        for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
            targets[target["Arn"].rsplit(":", 1)[1]] = rule
    schedule = targets[FUNCTIONS["retry_submissions"]]
    assert schedule["ScheduleExpression"] == "rate(5 minutes)"
    pattern = json.loads(targets[FUNCTIONS["index_content"]]["EventPattern"])
    assert pattern["source"] == ["aws.s3"]
    for name in ("retry_submissions", "index_content"):
        function_policy = json.loads(lambda_.get_policy(FunctionName=FUNCTIONS[name])["Policy"])
        assert [s["Principal"]["Service"] for s in function_policy["Statement"]] == ["events.amazonaws.com"]


def test_the_published_content_is_in_the_stage_table(deployed, aws):
    settings = Settings.from_environment(stage_environment(STAGE))
    item = aws("dynamodb").get_item(
        TableName=settings.content_table, Key={"pk": {"S": "path#/what-we-do/"}, "sk": {"S": "-"}}
    )
    assert json.loads(item["Item"]["json"]["S"])["title"] == "What We Do"


# The preflight on the deployed stage ----------------------------------------------


@pytest.fixture(scope="module")
def doctor(deployed, project_copy, package_environment, emulator, aws):
    """`nlc-api doctor --stage dev --format json`: each check by name, and
    the exit status. The alerts topic has a subscription first, as staff
    make one after provisioning."""
    sns = aws("sns")
    (topic,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":nlc-dev-alerts")
    ]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="team@example.com")
    env = emulator_environment(emulator, package_environment)

    def check(**settings: str) -> tuple[dict[str, dict], int]:
        done = subprocess.run(
            [sys.executable, "-m", "nlc_tools.cli", "doctor", "--stage", STAGE, "--format", "json"],
            cwd=project_copy,
            env={**env, **settings},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode in (0, 1), done.stderr
        listed = json.loads(done.stdout)["checks"]
        assert [found["name"] for found in listed] == DOCTOR_CHECKS
        return {found["name"]: found for found in listed}, done.returncode

    return check


def test_doctor_checks_the_deployed_stage_with_what_the_emulator_can_answer(doctor):
    found, status = doctor()
    assert status == 0, "\n".join(str(check) for check in found.values() if check["status"] != "ok")
    statuses = {name: found[name]["status"] for name in DOCTOR_CHECKS}
    # What moto cannot say (SES's account, DKIM) and what dev does not use (no build hook).
    assert {name for name, status in statuses.items() if status == "n/a"} == {
        "ses-production-access",
        "sender-identity",
        "webhook-secret",
    }
    assert "fail" not in statuses.values()


def test_doctor_checks_the_build_hook_secret_is_there_for_the_functions_role(doctor, aws):
    hook = {"NLC_PUBLISH_WEBHOOK_URL": "https://build.example.com/hook"}
    found, status = doctor(**hook)
    assert status == 1 and found["webhook-secret"]["status"] == "fail"

    parameter = Settings.from_environment(stage_environment(STAGE)).publish_webhook_secret_parameter
    aws("ssm").put_parameter(Name=parameter, Value="whsec_a2V5", Type="SecureString")
    try:
        found, status = doctor(**hook)
    finally:
        aws("ssm").delete_parameter(Name=parameter)
    assert status == 0
    assert found["webhook-secret"]["detail"] == f"{parameter} exists and the functions' role may read it"


def rule_of(aws, function: str) -> str:
    arn = aws("lambda").get_function_configuration(FunctionName=function)["FunctionArn"]
    (rule,) = aws("events").list_rule_names_by_target(TargetArn=arn)["RuleNames"]
    return rule


@pytest.mark.parametrize("fault", ["versioning suspended", "retry schedule disabled", "subscription deleted",
                                   "dead letter"])  # fmt: skip
def test_doctor_fails_exactly_the_check_of_each_fault_with_a_fix(doctor, aws, fault):
    settings = Settings.from_environment(stage_environment(STAGE))
    s3, events, sns, sqs = aws("s3"), aws("events"), aws("sns"), aws("sqs")
    dead_letters = sqs.get_queue_url(QueueName=f"{settings.delivery_queue}-dead-letters")["QueueUrl"]
    (topic,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":nlc-dev-alerts")
    ]
    faults = {
        "versioning suspended": (
            "bucket-versioning",
            lambda: s3.put_bucket_versioning(
                Bucket=settings.content_bucket, VersioningConfiguration={"Status": "Suspended"}
            ),
            lambda: s3.put_bucket_versioning(
                Bucket=settings.content_bucket, VersioningConfiguration={"Status": "Enabled"}
            ),
        ),
        "retry schedule disabled": (
            "schedules-enabled",
            lambda: events.disable_rule(Name=rule_of(aws, FUNCTIONS["retry_submissions"])),
            lambda: events.enable_rule(Name=rule_of(aws, FUNCTIONS["retry_submissions"])),
        ),
        "subscription deleted": (
            "alerts-subscribed",
            lambda: [
                sns.unsubscribe(SubscriptionArn=s["SubscriptionArn"])
                for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            ],
            lambda: sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="team@example.com"),
        ),
        "dead letter": (
            "queue-subscription",
            lambda: sqs.send_message(QueueUrl=dead_letters, MessageBody="NLC-2222-2222"),
            lambda: sqs.purge_queue(QueueUrl=dead_letters),
        ),
    }
    name, cause, mend = faults[fault]
    before, _ = doctor()
    cause()
    try:
        after, status = doctor()
    finally:
        mend()
    assert status == 1
    changed = [check for check in DOCTOR_CHECKS if before[check]["status"] != after[check]["status"]]
    assert changed == [name]
    assert after[name]["status"] == "fail" and after[name]["fix"]
    assert doctor()[1] == 0  # mended


def test_deploying_again_updates_in_place(deployed, run, aws):
    again = run("chalice", "deploy", "--stage", STAGE)
    assert "Updating lambda function: nlc-api-dev" in again.stdout
    assert len(aws("apigateway").get_rest_apis()["items"]) == 1


def test_chalice_delete_removes_the_api_functions_and_rules_and_keeps_the_data(deployed, run, aws):
    run("chalice", "delete", "--stage", STAGE)

    assert aws("apigateway").get_rest_apis()["items"] == []
    assert aws("lambda").list_functions()["Functions"] == []
    assert aws("events").list_rules()["Rules"] == []
    assert not [
        role for role in aws("iam").list_roles()["Roles"] if role["RoleName"].startswith("nlc-api-dev")
    ]
    # Content and submissions outlive the code: delete those by hand, if ever.
    settings = Settings.from_environment(stage_environment(STAGE))
    assert aws("dynamodb").describe_table(TableName=settings.submissions_table)["Table"]
    assert aws("s3").head_bucket(Bucket=settings.content_bucket)
