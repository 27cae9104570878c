"""Bring a stage's bucket, tables, queue, sender identity, alarms,
CloudFront distribution and publisher role to their definitions in
resources.py and publisher.py. Every step reads before it writes, so a second run changes
nothing, and a run that stopped halfway can simply be run again."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable

from chalicelib import aws
from chalicelib.names import configuration_set
from chalicelib.settings import CHALICE_CONFIG, Settings

from .publisher import PublisherError, ensure_publisher
from .resources import (
    CONTENT_BUCKET,
    GATEWAY_RESPONSE_HEADERS,
    GATEWAY_RESPONSES,
    MAIL_EVENTS,
    STAGE_TAG,
    AlarmSpec,
    BucketSpec,
    QueueSpec,
    TableSpec,
    alarms,
    alerts_topic,
    dead_letter_queue,
    distribution,
    queues,
    sender_identity,
    tables,
)

Report = Callable[[str], None]

# The regions where a bucket is created without a LocationConstraint.
_DEFAULT_BUCKET_REGIONS = (None, "us-east-1")


class ProvisionError(Exception):
    """Something provisioning must not change by itself: a person decides."""


def provision(settings: Settings, report: Report = print) -> list[str]:
    """Bring the stage's resources to their defined state; return what changed."""
    changes: list[str] = []

    def record(made: list[str]) -> None:
        for change in made:
            report(change)
        changes.extend(made)

    record(_ensure_bucket(settings.content_bucket, CONTENT_BUCKET))
    for name, spec in tables(settings).items():
        record(_ensure_table(name, spec))
    record(backfill_addresses(settings))
    for name, queue in queues(settings).items():
        record(_ensure_queue(name, queue))
    domain = sender_identity(settings)
    identity, made = _ensure_sender_identity(domain)
    record(made)
    if not identity.get("VerifiedForSendingStatus"):
        _report_dkim_records(domain, identity, report)
    record(_ensure_mail_events(settings))
    record(_ensure_gateway_responses(settings.stage, report))
    record(_ensure_distribution(settings, report))
    try:
        record(ensure_publisher(settings, report))
    except PublisherError as error:
        raise ProvisionError(str(error)) from None
    record(_ensure_alarms(settings))
    if not changes:
        report("Nothing to change: every resource is already in place.")
    return changes


# The bucket -------------------------------------------------------------------


def _ensure_bucket(bucket: str, spec: BucketSpec) -> list[str]:
    s3 = aws.s3()
    changes = []
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError as error:
        if aws.error_code(error) == "403":
            raise ProvisionError(
                f"bucket {bucket} exists but these credentials cannot use it: bucket names are "
                "global, so another account may own it; choose another NLC_CONTENT_BUCKET"
            ) from None
        if aws.error_code(error) not in ("404", "NoSuchBucket"):
            raise
        create: dict = {"Bucket": bucket}
        if s3.meta.region_name not in _DEFAULT_BUCKET_REGIONS:
            create["CreateBucketConfiguration"] = {"LocationConstraint": s3.meta.region_name}
        s3.create_bucket(**create)
        s3.get_waiter("bucket_exists").wait(Bucket=bucket, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        changes.append(f"created bucket {bucket}")

    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        changes.append(f"turned on versioning for {bucket}")

    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError as error:
        if aws.error_code(error) != "NoSuchPublicAccessBlockConfiguration":
            raise
        current = {}
    if current != spec.public_access_block:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=spec.public_access_block)
        changes.append(f"blocked all public access to {bucket}")

    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except s3.exceptions.ClientError as error:
        if aws.error_code(error) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    # Any default encryption will do: a KMS key someone chose is stronger.
    if not any(rule.get("ApplyServerSideEncryptionByDefault") for rule in rules):
        s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": spec.encryption_algorithm}}]
            },
        )
        changes.append(f"turned on default encryption for {bucket}")

    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    notifications.pop("ResponseMetadata", None)
    if "EventBridgeConfiguration" not in notifications:
        # The call replaces the whole configuration: keep what else is there.
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={**notifications, "EventBridgeConfiguration": {}},
        )
        changes.append(f"sent {bucket}'s events to EventBridge")
    return changes


# Tables -------------------------------------------------------------------------


def _wait_until_active(name: str) -> dict:
    dynamodb = aws.dynamodb()
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 150})
    return dynamodb.describe_table(TableName=name)["Table"]


def _ensure_table(name: str, spec: TableSpec) -> list[str]:
    dynamodb = aws.dynamodb()
    changes = []
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**spec.create_table_kwargs(name))
        changes.append(f"created table {name}")
        table = {"TableStatus": "CREATING"}
    if table["TableStatus"] != "ACTIVE":
        table = _wait_until_active(name)

    if table.get("BillingModeSummary", {}).get("BillingMode") != "PAY_PER_REQUEST":
        dynamodb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
        changes.append(f"made {name} on-demand")
        table = _wait_until_active(name)

    wanted = spec.create_table_kwargs(name)
    existing = {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])}
    for index in wanted.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in existing:
            continue
        # DynamoDB adds one index per update, and the table must be active.
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=wanted["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        changes.append(f"added index {index['IndexName']} to {name}")
        _wait_until_active(name)

    backups = dynamodb.describe_continuous_backups(TableName=name)
    recovery = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        changes.append(f"turned on point-in-time recovery for {name}")

    if spec.ttl_attribute:
        changes += _ensure_ttl(name, spec.ttl_attribute)
    return changes


# The table's tag naming the address matching its submissions are digested
# by: provisioning backfills only when it differs, so a run is one read.
ADDRESS_MATCHING_TAG = "nlc:address-matching"


def backfill_addresses(settings: Settings, *, always: bool = False) -> list[str]:
    """Give submissions stored before addresses were digested (or by an
    older match) the digest their sender's requests find them by, then tag
    the table with the matching version; `always` scans whatever the tag."""
    from chalicelib.submissions.data_requests import backfill
    from chalicelib.submissions.intake import ADDRESS_MATCHING

    dynamodb = aws.dynamodb()
    arn = dynamodb.describe_table(TableName=settings.submissions_table)["Table"]["TableArn"]
    tags = dynamodb.list_tags_of_resource(ResourceArn=arn).get("Tags", [])
    if not always and {"Key": ADDRESS_MATCHING_TAG, "Value": ADDRESS_MATCHING} in tags:
        return []
    count = backfill()
    dynamodb.tag_resource(ResourceArn=arn, Tags=[{"Key": ADDRESS_MATCHING_TAG, "Value": ADDRESS_MATCHING}])
    return [f"set the address digest of {count} stored submission(s) in {settings.submissions_table}"]


def _ensure_ttl(name: str, attribute: str) -> list[str]:
    dynamodb = aws.dynamodb()
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    status = ttl.get("TimeToLiveStatus", "DISABLED")
    if status in ("ENABLED", "ENABLING"):
        if ttl.get("AttributeName") != attribute:
            raise ProvisionError(
                f"{name} expires items by {ttl.get('AttributeName')!r}, not {attribute!r}: "
                "turn that off in the console, wait for it to finish, then provision again"
            )
        return []
    if status == "DISABLING":
        raise ProvisionError(
            f"expiry on {name} is being turned off (this takes up to an hour): provision again after"
        )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
    )
    return [f"turned on expiry by {attribute} for {name}"]


# Queues ---------------------------------------------------------------------------


def _ensure_queue(name: str, spec: QueueSpec) -> list[str]:
    """The queue and its dead-letter queue, each with the attributes the
    definition gives; other attributes someone set are left alone."""
    dead_letters = dead_letter_queue(name)
    changes = _ensure_queue_attributes(dead_letters, spec.dead_letter_attributes())
    sqs = aws.sqs()
    arn = sqs.get_queue_attributes(QueueUrl=aws.queue_url(dead_letters), AttributeNames=["QueueArn"])
    changes += _ensure_queue_attributes(name, spec.attributes(arn["Attributes"]["QueueArn"]))
    return changes


def _ensure_queue_attributes(name: str, wanted: dict[str, str]) -> list[str]:
    sqs = aws.sqs()
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        sqs.create_queue(QueueName=name, Attributes=wanted)
        return [f"created queue {name}"]
    current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    different = {key: value for key, value in wanted.items() if not _same(current.get(key), value)}
    if not different:
        return []
    sqs.set_queue_attributes(QueueUrl=url, Attributes=different)
    return [f"set {', '.join(sorted(different))} of queue {name}"]


def _same(current: str | None, wanted: str) -> bool:
    """Attribute values alike; a JSON one (RedrivePolicy) alike whatever its
    spacing, and whether its numbers come back as numbers or as strings."""
    if current is None or not wanted.startswith("{"):
        return current == wanted

    def parsed(text: str) -> dict[str, str]:
        return {key: str(value) for key, value in json.loads(text).items()}

    return parsed(current) == parsed(wanted)


# The sender -----------------------------------------------------------------------


def _ensure_sender_identity(domain: str) -> tuple[dict, list[str]]:
    """A domain identity with Easy DKIM: verified once by DNS, it lets any
    address at the domain send, and signs mail so DMARC passes."""
    ses = aws.ses()
    try:
        return ses.get_email_identity(EmailIdentity=domain), []
    except ses.exceptions.NotFoundException:
        return ses.create_email_identity(EmailIdentity=domain), [f"created SES identity {domain}"]


def _report_dkim_records(domain: str, identity: dict, report: Report) -> None:
    # Not a change: a reminder on every run until DNS is in place. An
    # emulator's identity has no records to add, and needs none.
    tokens = identity.get("DkimAttributes", {}).get("Tokens", [])
    if not tokens:
        return
    report(
        f"SES cannot send from {domain} until these DNS records exist "
        "(it then verifies by itself, within 72 hours):"
    )
    for token in tokens:
        report(f"  {token}._domainkey.{domain} CNAME {token}.dkim.amazonses.com")


def _ensure_mail_events(settings: Settings) -> list[str]:
    """The configuration set every email is sent with and, in AWS, its
    events sent to EventBridge. The local stack has no EventBridge rules to
    hand them to its functions: its set has no destination."""
    ses = aws.ses()
    name = configuration_set(settings)
    changes = []
    try:
        ses.get_configuration_set(ConfigurationSetName=name)
    except ses.exceptions.NotFoundException:
        ses.create_configuration_set(ConfigurationSetName=name)
        changes.append(f"created SES configuration set {name}")
    if settings.stage == "local":
        return changes
    account = aws.client("sts").get_caller_identity()["Account"]
    bus = f"arn:aws:events:{ses.meta.region_name}:{account}:event-bus/default"
    wanted = MAIL_EVENTS.event_destination(bus)
    found = ses.get_configuration_set_event_destinations(ConfigurationSetName=name)["EventDestinations"]
    current = next((d for d in found if d["Name"] == MAIL_EVENTS.destination_name), None)
    if current is None:
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestinationName=MAIL_EVENTS.destination_name,
            EventDestination=wanted,
        )
        changes.append(f"sent {name}'s delivery events to EventBridge")
    elif any(current.get(key) != value for key, value in wanted.items()):
        ses.update_configuration_set_event_destination(
            ConfigurationSetName=name,
            EventDestinationName=MAIL_EVENTS.destination_name,
            EventDestination=wanted,
        )
        changes.append(f"updated where {name} sends its delivery events")
    return changes


# API Gateway's own answers -----------------------------------------------------------


def deployed_rest_api(stage: str) -> tuple[str, str] | None:
    """The REST API `chalice deploy` made for the stage, and its API Gateway
    stage name; None before the first deploy."""
    deployed = CHALICE_CONFIG.parent / "deployed" / f"{stage}.json"
    try:
        resources = json.loads(deployed.read_text(encoding="utf-8"))["resources"]
        config = json.loads(CHALICE_CONFIG.read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return None
    api_id = next((r.get("rest_api_id") for r in resources if r.get("resource_type") == "rest_api"), None)
    api_stage = config["stages"].get(stage, {}).get("api_gateway_stage", "api")
    return (api_id, api_stage) if api_id else None


def _ensure_gateway_responses(stage: str, report: Report) -> list[str]:
    """Answer an unknown route (and API Gateway's other refusals) in the
    API's error shape. Only once `chalice deploy` has made the API, and again
    after each deploy, which replaces the API's definition."""
    deployed = deployed_rest_api(stage)
    if deployed is None:
        if stage != "local":
            report("API Gateway's own error answers are set by provisioning again after `chalice deploy`")
        return []
    api_id, api_stage = deployed
    apigateway = aws.client("apigateway")
    headers = {f"gatewayresponse.header.{name}": value for name, value in GATEWAY_RESPONSE_HEADERS.items()}
    changes = []
    for response in GATEWAY_RESPONSES:
        wanted: dict = {
            "responseParameters": headers,
            "responseTemplates": {"application/json": response.body()},
        }
        if response.status:
            wanted["statusCode"] = response.status
        try:
            current = apigateway.get_gateway_response(restApiId=api_id, responseType=response.response_type)
        except apigateway.exceptions.NotFoundException:
            current = {}
        if any(current.get(key) != value for key, value in wanted.items()):
            apigateway.put_gateway_response(restApiId=api_id, responseType=response.response_type, **wanted)
            changes.append(f"answered {response.response_type} in the API's error shape")
    if changes:
        # Gateway responses take effect with the API's next deployment.
        apigateway.create_deployment(restApiId=api_id, stageName=api_stage)
        changes.append(f"deployed the API's stage {api_stage} again")
    return changes


# Alarms ------------------------------------------------------------------------------


def _ensure_alarms(settings: Settings) -> list[str]:
    """The stage's alerts topic, and each alarm sending to it as defined.
    Subscriptions are staff's own: they are left alone."""
    sns = aws.client("sns")
    name = alerts_topic(settings)
    changes = []
    topic_arn = find_topic(name)
    if topic_arn is None:
        topic_arn = sns.create_topic(Name=name)["TopicArn"]
        changes.append(f"created SNS topic {name}")
    for alarm_name, spec in alarms(settings).items():
        changes += _ensure_alarm(alarm_name, spec, settings.stage, topic_arn)
    return changes


def find_topic(name: str) -> str | None:
    """An SNS topic's ARN, found by its name."""
    return next(
        (
            topic["TopicArn"]
            for page in aws.client("sns").get_paginator("list_topics").paginate()
            for topic in page["Topics"]
            if topic["TopicArn"].rpartition(":")[2] == name
        ),
        None,
    )


def _ensure_alarm(name: str, spec: AlarmSpec, stage: str, topic_arn: str) -> list[str]:
    cloudwatch = aws.client("cloudwatch")
    wanted = spec.alarm_kwargs(name, stage, topic_arn)
    current = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if current and all(current[0].get(key) == value for key, value in wanted.items()):
        return []
    cloudwatch.put_metric_alarm(**wanted)
    return [f"{'updated' if current else 'created'} alarm {name}"]


# CloudFront in front of the API --------------------------------------------------------


def _ensure_distribution(settings: Settings, report: Report) -> list[str]:
    """The origin secret, the two policies and the distribution pointing at
    the API `chalice deploy` made, with its id in the stage's parameter for
    the functions' invalidations; a setting changed by hand is put back.
    Prints the distribution's address, which the website calls."""
    spec = distribution(settings)
    deployed = deployed_rest_api(settings.stage)
    if spec is None or deployed is None:
        if spec is not None:
            report("The CloudFront distribution is made by provisioning again after `chalice deploy`")
        return []
    api_id, api_stage = deployed
    cloudfront = aws.client("cloudfront")
    secret, changes = _ensure_origin_secret(settings.origin_secret)
    cache_policy, made = _ensure_policy("cache", spec.cache_policy(settings))
    changes += made
    forms_policy, made = _ensure_policy("origin_request", spec.forms_policy(settings))
    changes += made
    region = aws.client("apigateway").meta.region_name
    wanted = spec.distribution_config(
        settings,
        (f"{api_id}.execute-api.{region}.amazonaws.com", f"/{api_stage}"),
        secret,
        cache_policy,
        forms_policy,
    )
    found = find_distribution(spec.comment(settings))
    if found is None:
        created = cloudfront.create_distribution_with_tags(
            DistributionConfigWithTags={
                "DistributionConfig": {**wanted, "CallerReference": str(uuid.uuid4())},
                "Tags": {"Items": [{"Key": STAGE_TAG, "Value": settings.stage}]},
            }
        )["Distribution"]
        changes.append(f"created CloudFront distribution {created['Id']} in front of API {api_id}")
        distribution_id, domain = created["Id"], created["DomainName"]
    else:
        distribution_id, domain = found
        answer = cloudfront.get_distribution_config(Id=distribution_id)
        current = answer["DistributionConfig"]
        if not _holds(current, wanted):
            cloudfront.update_distribution(
                Id=distribution_id, IfMatch=answer["ETag"], DistributionConfig={**current, **wanted}
            )
            changes.append(f"put back the settings of CloudFront distribution {distribution_id}")
    changes += _ensure_distribution_parameter(settings.distribution_parameter, distribution_id)
    # Not a change: the address to give the website, on every run.
    report(f"The website's API address: https://{domain} (staff routes stay on API Gateway's address)")
    return changes


def _ensure_origin_secret(name: str) -> tuple[str, list[str]]:
    """The secret CloudFront sends the API, made with a random value if
    missing. Its value is never printed."""
    manager = aws.client("secretsmanager")
    try:
        return manager.get_secret_value(SecretId=name)["SecretString"], []
    except manager.exceptions.ResourceNotFoundException:
        value = secrets.token_urlsafe(32)
        manager.create_secret(Name=name, SecretString=value, Description="CloudFront's proof to the API")
        return value, [f"created the origin secret {name}"]


def _ensure_policy(kind: str, wanted: dict) -> tuple[str, list[str]]:
    """A custom cache (`kind` "cache") or origin request policy, by name."""
    cloudfront = aws.client("cloudfront")
    title = "".join(part.title() for part in kind.split("_"))  # Cache, OriginRequest
    listed = getattr(cloudfront, f"list_{kind}_policies")(Type="custom")[f"{title}PolicyList"]
    config_key = f"{title}PolicyConfig"
    found = next(
        (
            item[f"{title}Policy"]
            for item in listed.get("Items", [])
            if item[f"{title}Policy"][config_key]["Name"] == wanted["Name"]
        ),
        None,
    )
    if found is None:
        created = getattr(cloudfront, f"create_{kind}_policy")(**{config_key: wanted})
        return created[f"{title}Policy"]["Id"], [
            f"created CloudFront {kind.replace('_', ' ')} policy {wanted['Name']}"
        ]
    answer = getattr(cloudfront, f"get_{kind}_policy_config")(Id=found["Id"])
    if _holds(answer[config_key], wanted):
        return found["Id"], []
    getattr(cloudfront, f"update_{kind}_policy")(
        Id=found["Id"], IfMatch=answer["ETag"], **{config_key: wanted}
    )
    return found["Id"], [f"put back CloudFront {kind.replace('_', ' ')} policy {wanted['Name']}"]


def find_distribution(comment: str) -> tuple[str, str] | None:
    """The stage's distribution (its id and domain), known by its comment."""
    cloudfront = aws.client("cloudfront")
    for page in cloudfront.get_paginator("list_distributions").paginate():
        for item in page["DistributionList"].get("Items", []):
            if item.get("Comment") == comment:
                return item["Id"], item["DomainName"]
    return None


def _ensure_distribution_parameter(name: str, distribution_id: str) -> list[str]:
    ssm = aws.client("ssm")
    try:
        if ssm.get_parameter(Name=name)["Parameter"]["Value"] == distribution_id:
            return []
    except ssm.exceptions.ParameterNotFound:
        pass
    ssm.put_parameter(Name=name, Value=distribution_id, Type="String", Overwrite=True)
    return [f"noted the distribution's id in {name}"]


def _holds(current: object, wanted: object) -> bool:
    """Whether `current` has every setting `wanted` names, as wanted (AWS
    answers with settings of its own besides)."""
    if isinstance(wanted, dict):
        return isinstance(current, dict) and all(
            _holds(current.get(key), value) for key, value in wanted.items()
        )
    if isinstance(wanted, list) and not any(isinstance(item, dict | list) for item in wanted):
        return isinstance(current, list) and sorted(current) == sorted(wanted)  # names, in any order
    if isinstance(wanted, list):
        return (
            isinstance(current, list)
            and len(current) == len(wanted)
            and all(_holds(a, b) for a, b in zip(current, wanted, strict=True))
        )
    return current == wanted
