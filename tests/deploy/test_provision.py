"""`nlc-api provision`: creates the stage's resources as nlc_tools/resources.py defines
them, and a second run changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import boto3
import pytest
from emulator import emulator_environment, moto_gaps_filled, running_emulator
from moto import mock_aws

from chalicelib.settings import CHALICE_CONFIG, PROJECT_DIR, Settings, get_settings, stage_environment
from nlc_tools import cli
from nlc_tools.resources import CONTENT_BUCKET, DELIVERY_QUEUE, SUBMISSIONS_TABLE, tables


def provision_local() -> str:
    return cli.run(["provision", "--stage", "local"])


def assert_provisioned(s3, dynamodb, sesv2, sqs=None) -> None:
    """What a person would check in the console after provisioning."""
    settings = get_settings()
    bucket = settings.content_bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == CONTENT_BUCKET.public_access_block and all(block.values())
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert "EventBridgeConfiguration" in s3.get_bucket_notification_configuration(Bucket=bucket)

    for name, spec in tables(settings).items():
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])} == {
            index.name for index in spec.indexes
        }
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    ttl = dynamodb.describe_time_to_live(TableName=settings.submissions_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert (
        sesv2.get_email_identity(EmailIdentity="local.nationalleadership.gov.uk")["IdentityType"] == "DOMAIN"
    )
    sqs = sqs or boto3.client("sqs")
    queue = sqs.get_queue_url(QueueName=settings.delivery_queue)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert int(attributes["VisibilityTimeout"]) == DELIVERY_QUEUE.visibility_timeout
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(f":{settings.delivery_queue}-dead-letters")
    assert int(redrive["maxReceiveCount"]) == DELIVERY_QUEUE.max_receives


@pytest.fixture
def moto():
    with moto_gaps_filled(), mock_aws():
        yield tuple(boto3.client(name) for name in ("s3", "dynamodb", "sesv2"))


def test_provision_creates_everything_then_changes_nothing(moto):
    first = provision_local()
    assert "created bucket nlc-local-content" in first
    assert "created table nlc-local-submissions" in first
    assert "turned on expiry by expires_at for nlc-local-submissions" in first
    assert "created SES identity local.nationalleadership.gov.uk" in first
    assert "created queue nlc-local-deliveries" in first
    assert "created queue nlc-local-deliveries-dead-letters" in first
    assert_provisioned(*moto)

    second = provision_local()
    assert "Nothing to change" in second
    assert "created" not in second and "turned on" not in second
    assert_provisioned(*moto)


def test_provision_says_which_dns_records_verify_the_sender():
    from nlc_tools.provision import _report_dkim_records

    lines: list[str] = []
    _report_dkim_records("example.gov.uk", {"DkimAttributes": {"Tokens": ["abc"]}}, lines.append)
    assert lines == [
        "SES cannot send from example.gov.uk until these DNS records exist "
        "(it then verifies by itself, within 72 hours):",
        "  abc._domainkey.example.gov.uk CNAME abc.dkim.amazonses.com",
    ]


def test_provision_lists_no_records_when_there_are_none(moto):
    # The emulator's identities have no DKIM records, and need none.
    assert "DNS records" not in provision_local()


def test_provision_completes_resources_made_by_hand_and_keeps_their_other_settings(moto):
    s3, dynamodb, _ = moto
    settings = get_settings()
    s3.create_bucket(
        Bucket=settings.content_bucket,
        CreateBucketConfiguration={"LocationConstraint": "eu-west-2"},
    )
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="audit")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    s3.put_bucket_notification_configuration(
        Bucket=settings.content_bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    # The submissions table as someone might have made it: provisioned
    # capacity, without the status index, point-in-time recovery or expiry.
    bare = SUBMISSIONS_TABLE.create_table_kwargs(settings.submissions_table)
    bare.pop("GlobalSecondaryIndexes")
    bare["AttributeDefinitions"] = [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")]
    bare["BillingMode"] = "PROVISIONED"
    bare["ProvisionedThroughput"] = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    dynamodb.create_table(**bare)

    output = provision_local()

    assert "created bucket" not in output
    assert "created table nlc-local-submissions" not in output
    assert "made nlc-local-submissions on-demand" in output
    assert "added index by-status to nlc-local-submissions" in output
    assert_provisioned(*moto)
    kept = s3.get_bucket_notification_configuration(Bucket=settings.content_bucket)
    assert kept["QueueConfigurations"][0]["QueueArn"] == queue_arn
    assert "Nothing to change" in provision_local()


def test_provision_refuses_to_move_expiry_to_another_attribute(moto):
    _, dynamodb, _ = moto
    settings = get_settings()
    dynamodb.create_table(**SUBMISSIONS_TABLE.create_table_kwargs(settings.submissions_table))
    dynamodb.update_time_to_live(
        TableName=settings.submissions_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "delete_after"},
    )

    assert cli.main(["provision", "--stage", "local"]) == 1
    ttl = dynamodb.describe_time_to_live(TableName=settings.submissions_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "delete_after"


def test_provision_against_the_emulator_twice_exits_zero_and_leaves_private_versioned_storage():
    """The command as staff run it, in its own process, against moto's server."""
    with running_emulator() as endpoint:
        env = emulator_environment(endpoint, dict(os.environ))
        command = [sys.executable, "-m", "nlc_tools.cli", "provision", "--stage", "local"]
        runs = [
            subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
            for _ in range(2)
        ]
        assert [run.returncode for run in runs] == [0, 0], [run.stderr for run in runs]
        assert "created table nlc-local-content" in runs[0].stdout
        assert "Nothing to change" in runs[1].stdout

        def emulated(name):
            return boto3.client(name, endpoint_url=endpoint, region_name="eu-west-2")

        assert_provisioned(emulated("s3"), emulated("dynamodb"), emulated("sesv2"), emulated("sqs"))


def test_provision_sends_the_stage_alarms_to_its_alerts_topic_and_puts_back_a_changed_one(moto):
    first = provision_local()
    assert "created SNS topic nlc-local-alerts" in first
    assert "created alarm nlc-local-failed-forwards" in first
    assert "created alarm nlc-local-content-rejected" in first
    (topic,) = boto3.client("sns").list_topics()["Topics"]
    assert topic["TopicArn"].endswith(":nlc-local-alerts")
    cloudwatch = boto3.client("cloudwatch")
    found = {alarm["MetricName"]: alarm for alarm in cloudwatch.describe_alarms()["MetricAlarms"]}
    assert set(found) == {"FailedForwards", "ContentRejected"}
    for alarm in found.values():
        assert alarm["Namespace"] == "NLC/API"
        assert alarm["Dimensions"] == [{"Name": "Stage", "Value": "local"}]
        assert alarm["AlarmActions"] == [topic["TopicArn"]]
        assert (alarm["Statistic"], alarm["Threshold"]) == ("Sum", 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"

    changed = {key: found["FailedForwards"][key] for key in ("AlarmName", "Namespace", "MetricName")}
    cloudwatch.put_metric_alarm(
        **changed, Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=10,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    second = provision_local()
    assert second.splitlines() == ["updated alarm nlc-local-failed-forwards"]
    assert cloudwatch.describe_alarms(AlarmNames=[changed["AlarmName"]])["MetricAlarms"][0]["AlarmActions"]
    assert "Nothing to change" in provision_local()


def test_provision_sends_a_deployed_stage_mail_events_to_eventbridge_once(moto):
    from nlc_tools.provision import _ensure_mail_events

    sesv2 = moto[2]
    dev = Settings.from_environment(stage_environment("dev"))
    assert _ensure_mail_events(dev) == [
        "created SES configuration set nlc-dev-mail",
        "sent nlc-dev-mail's delivery events to EventBridge",
    ]
    (destination,) = sesv2.get_configuration_set_event_destinations(ConfigurationSetName="nlc-dev-mail")[
        "EventDestinations"
    ]
    account = boto3.client("sts").get_caller_identity()["Account"]
    assert destination["EventBridgeDestination"] == {
        "EventBusArn": f"arn:aws:events:eu-west-2:{account}:event-bus/default"
    }
    assert sorted(destination["MatchingEventTypes"]) == ["BOUNCE", "COMPLAINT", "DELIVERY", "REJECT", "SEND"]
    assert destination["Enabled"] is True
    assert _ensure_mail_events(dev) == []


def test_the_local_stage_sends_with_a_configuration_set_without_events(moto):
    assert "created SES configuration set nlc-local-mail" in provision_local()
    sesv2 = moto[2]
    assert sesv2.get_configuration_set(ConfigurationSetName="nlc-local-mail")["ConfigurationSetName"]


def test_provision_puts_cloudfront_in_front_of_a_deployed_api_once_and_puts_back_a_hand_change(
    moto, monkeypatch, tmp_path
):
    from nlc_tools import provision

    apigateway = boto3.client("apigateway")
    api_id = apigateway.create_rest_api(name="nlc-api")["id"]
    (root,) = apigateway.get_resources(restApiId=api_id)["items"]
    apigateway.put_method(restApiId=api_id, resourceId=root["id"], httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root["id"], httpMethod="GET", type="MOCK")
    # What `chalice deploy` leaves, in a copy of the project's .chalice folder.
    chalice = tmp_path / ".chalice"
    (chalice / "deployed").mkdir(parents=True)
    shutil.copy(CHALICE_CONFIG, chalice / "config.json")
    deployed = {"resources": [{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": api_id}]}
    (chalice / "deployed" / "dev.json").write_text(json.dumps(deployed))
    monkeypatch.setattr(provision, "CHALICE_CONFIG", chalice / "config.json")
    for name in stage_environment("dev"):  # the dev stage's own, not the tests' local ones
        monkeypatch.delenv(name, raising=False)
    first = cli.run(["provision", "--stage", "dev"])
    cloudfront = boto3.client("cloudfront")
    (listed,) = cloudfront.list_distributions()["DistributionList"]["Items"]
    assert f"created CloudFront distribution {listed['Id']} in front of API {api_id}" in first
    assert "created the origin secret nlc/dev/origin-verify" in first
    assert f"The website's API address: https://{listed['DomainName']}" in first
    secret = boto3.client("secretsmanager").get_secret_value(SecretId="nlc/dev/origin-verify")["SecretString"]
    assert len(secret) >= 32 and secret not in first  # never printed
    parameter = boto3.client("ssm").get_parameter(Name="/nlc/dev/distribution-id")["Parameter"]
    assert parameter["Value"] == listed["Id"]
    config = cloudfront.get_distribution_config(Id=listed["Id"])["DistributionConfig"]
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{api_id}.execute-api.eu-west-2.amazonaws.com"
    assert origin["OriginPath"] == "/api"
    assert origin["CustomHeaders"]["Items"] == [{"HeaderName": "X-NLC-Origin-Verify", "HeaderValue": secret}]
    default = config["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert sorted(default["AllowedMethods"]["Items"]) == ["GET", "HEAD", "OPTIONS"]  # no staff POST
    forms = {behaviour["PathPattern"]: behaviour for behaviour in config["CacheBehaviors"]["Items"]}
    assert set(forms) == {"/enquiries", "/accessible-format-requests"}
    assert all("POST" in behaviour["AllowedMethods"]["Items"] for behaviour in forms.values())
    tags = cloudfront.list_tags_for_resource(Resource=listed["ARN"])["Tags"]["Items"]
    assert {"Key": "nlc:stage", "Value": "dev"} in tags

    second = cli.run(["provision", "--stage", "dev"])
    assert "Nothing to change" in second and "The website's API address" in second

    answer = cloudfront.get_distribution_config(Id=listed["Id"])
    cloudfront.update_distribution(
        Id=listed["Id"],
        IfMatch=answer["ETag"],
        DistributionConfig={**answer["DistributionConfig"], "PriceClass": "PriceClass_All"},
    )
    third = cli.run(["provision", "--stage", "dev"])
    assert f"put back the settings of CloudFront distribution {listed['Id']}" in third
    config = cloudfront.get_distribution_config(Id=listed["Id"])["DistributionConfig"]
    assert config["PriceClass"] == "PriceClass_100"
    assert "Nothing to change" in cli.run(["provision", "--stage", "dev"])


# The publisher role the site repository's workflow assumes -----------------------------

SITE_REPOSITORY = "example-org/example-site"
GITHUB_TOKENS = "token.actions.githubusercontent.com"


@pytest.fixture
def dev_publishing_from_github(moto, monkeypatch):
    """The dev stage's own settings, publishing from the example site's main branch."""
    for name in stage_environment("dev"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NLC_PUBLISH_REPOSITORY", SITE_REPOSITORY)
    return boto3.client("iam")


def test_provision_lets_only_the_site_main_branch_assume_the_publisher_role(dev_publishing_from_github):
    from nlc_tools import publisher

    iam = dev_publishing_from_github
    first = cli.run(["provision", "--stage", "dev"])
    (provider,) = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert provider["Arn"].endswith(f":oidc-provider/{GITHUB_TOKENS}")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])["ClientIDList"] == [
        "sts.amazonaws.com"
    ]
    role = iam.get_role(RoleName="nlc-dev-publisher")["Role"]
    assert f"created role nlc-dev-publisher for repo:{SITE_REPOSITORY}:ref:refs/heads/main" in first
    assert f"NLC_PUBLISH_ROLE_ARN variable: {role['Arn']}" in first
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {
        "Effect": "Allow",
        "Principal": {"Federated": provider["Arn"]},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{GITHUB_TOKENS}:aud": "sts.amazonaws.com",
                f"{GITHUB_TOKENS}:sub": f"repo:{SITE_REPOSITORY}:ref:refs/heads/main",
            }
        },
    }
    # The policy tests/deploy/test_iam.py holds to what publish and rollback call.
    account = boto3.client("sts").get_caller_identity()["Account"]
    assert iam.list_role_policies(RoleName="nlc-dev-publisher")["PolicyNames"] == ["publish"]
    assert iam.get_role_policy(RoleName="nlc-dev-publisher", PolicyName="publish")[
        "PolicyDocument"
    ] == publisher.permissions(get_settings(), "eu-west-2", account)
    assert iam.list_attached_role_policies(RoleName="nlc-dev-publisher")["AttachedPolicies"] == []

    second = cli.run(["provision", "--stage", "dev"])
    assert "Nothing to change" in second and role["Arn"] in second


def test_provision_puts_back_a_publisher_role_changed_by_hand(dev_publishing_from_github):
    iam = dev_publishing_from_github
    cli.run(["provision", "--stage", "dev"])
    role = iam.get_role(RoleName="nlc-dev-publisher")["Role"]
    wanted_trust = role["AssumeRolePolicyDocument"]
    wanted_policy = iam.get_role_policy(RoleName="nlc-dev-publisher", PolicyName="publish")["PolicyDocument"]
    # Any branch or fork, any action, and more besides.
    loose = json.loads(json.dumps(wanted_trust).replace("StringEquals", "StringLike"))
    loose["Statement"][0]["Condition"]["StringLike"][f"{GITHUB_TOKENS}:sub"] = f"repo:{SITE_REPOSITORY}:*"
    iam.update_assume_role_policy(RoleName="nlc-dev-publisher", PolicyDocument=json.dumps(loose))
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_role_policy(
        RoleName="nlc-dev-publisher", PolicyName="publish", PolicyDocument=json.dumps(everything)
    )
    iam.put_role_policy(
        RoleName="nlc-dev-publisher", PolicyName="extra", PolicyDocument=json.dumps(everything)
    )
    admin = iam.create_policy(PolicyName="admin", PolicyDocument=json.dumps(everything))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="nlc-dev-publisher", PolicyArn=admin)

    again = cli.run(["provision", "--stage", "dev"]).splitlines()
    assert {
        f"put back who may assume role nlc-dev-publisher: repo:{SITE_REPOSITORY}:ref:refs/heads/main",
        "removed policy extra from role nlc-dev-publisher",
        "detached policy admin from role nlc-dev-publisher",
        "put back role nlc-dev-publisher its publish policy",
    } <= set(again)
    assert iam.get_role(RoleName="nlc-dev-publisher")["Role"]["AssumeRolePolicyDocument"] == wanted_trust
    assert iam.list_role_policies(RoleName="nlc-dev-publisher")["PolicyNames"] == ["publish"]
    assert (
        iam.get_role_policy(RoleName="nlc-dev-publisher", PolicyName="publish")["PolicyDocument"]
        == wanted_policy
    )
    assert iam.list_attached_role_policies(RoleName="nlc-dev-publisher")["AttachedPolicies"] == []
    assert "Nothing to change" in cli.run(["provision", "--stage", "dev"])


def test_provision_reuses_the_account_github_provider(dev_publishing_from_github):
    iam = dev_publishing_from_github
    # Made earlier for another project, for another audience as well.
    existing = iam.create_open_id_connect_provider(
        Url=f"https://{GITHUB_TOKENS}", ClientIDList=["another-audience"], ThumbprintList=["a" * 40]
    )["OpenIDConnectProviderArn"]
    output = cli.run(["provision", "--stage", "dev"])
    assert "created the OIDC provider" not in output
    assert iam.list_open_id_connect_providers()["OpenIDConnectProviderList"] == [{"Arn": existing}]
    clients = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=existing)["ClientIDList"]
    assert sorted(clients) == ["another-audience", "sts.amazonaws.com"]
    role = iam.get_role(RoleName="nlc-dev-publisher")["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Federated": existing}


@pytest.mark.parametrize("repository", ["example-org/*", "example-org", "*"])
def test_provision_refuses_a_publish_repository_that_is_not_one_repository(
    dev_publishing_from_github, monkeypatch, repository
):
    monkeypatch.setenv("NLC_PUBLISH_REPOSITORY", repository)
    with pytest.raises(cli.CommandError, match="NLC_PUBLISH_REPOSITORY must be owner/repo"):
        cli.run(["provision", "--stage", "dev"])
    assert dev_publishing_from_github.list_roles()["Roles"] == []
