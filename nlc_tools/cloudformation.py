"""The stage's bucket, tables, queue, sender identity, alarms, CloudFront
distribution and publisher role, and API Gateway's own error answers, as CloudFormation for `chalice package --merge-template`:
built from the same definitions in resources.py that provisioning applies,
so the two cannot disagree. The gateway responses are merged into Chalice's
REST API, so the template is complete only once merged."""

from __future__ import annotations

from chalicelib.names import configuration_set
from chalicelib.settings import Settings

from .publisher import template_parts
from .resources import (
    ALERTS_TOPIC_LOGICAL_NAME,
    CONTENT_BUCKET,
    GATEWAY_RESPONSE_HEADERS,
    GATEWAY_RESPONSES,
    MAIL_EVENTS,
    STAGE_TAG,
    BucketSpec,
    DistributionSpec,
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

# Data outlives the stack: deleting or replacing it must never delete content
# or submissions.
_KEEP = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
DKIM_RECORDS = 3  # Easy DKIM always asks for three CNAME records
# Chalice's REST API in the packaged template: merged with its own definition.
CHALICE_REST_API = "RestAPI"


def _bucket(name: str, spec: BucketSpec) -> dict:
    return {
        "Type": "AWS::S3::Bucket",
        **_KEEP,
        "Properties": {
            "BucketName": name,
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": spec.public_access_block,
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": spec.encryption_algorithm}}
                ]
            },
            "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
        },
    }


def _table(name: str, spec: TableSpec) -> dict:
    properties = spec.create_table_kwargs(name)
    properties["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    if spec.ttl_attribute:
        properties["TimeToLiveSpecification"] = {
            "AttributeName": spec.ttl_attribute,
            "Enabled": True,
        }
    return {"Type": "AWS::DynamoDB::Table", **_KEEP, "Properties": properties}


def gateway_responses() -> dict:
    """API Gateway's own answers in the API's error shape, as SAM takes them."""
    return {
        response.response_type: {
            **({"StatusCode": response.status} if response.status else {}),
            "ResponseParameters": {"Headers": GATEWAY_RESPONSE_HEADERS},
            "ResponseTemplates": {"application/json": response.body()},
        }
        for response in GATEWAY_RESPONSES
    }


def _queues(name: str, spec: QueueSpec) -> dict:
    """The queue and its dead-letter queue. Their messages are references,
    not data to keep: they go with the stack."""

    def properties(queue: str, attributes: dict[str, str]) -> dict:
        converted: dict = {"QueueName": queue}
        for key, value in attributes.items():
            if key == "RedrivePolicy":
                converted[key] = {
                    "deadLetterTargetArn": {"Fn::GetAtt": [spec.dead_letter_logical_name, "Arn"]},
                    "maxReceiveCount": spec.max_receives,
                }
            elif value in ("true", "false"):
                converted[key] = value == "true"
            else:
                converted[key] = int(value)
        return converted

    return {
        spec.dead_letter_logical_name: {
            "Type": "AWS::SQS::Queue",
            "Properties": properties(dead_letter_queue(name), spec.dead_letter_attributes()),
        },
        spec.logical_name: {
            "Type": "AWS::SQS::Queue",
            "Properties": properties(name, spec.attributes("")),
        },
    }


def _alarms(settings: Settings) -> dict:
    """The alerts topic staff subscribe to, and the alarms sending to it."""
    topic = {"Ref": ALERTS_TOPIC_LOGICAL_NAME}  # a topic's Ref is its ARN
    resources: dict = {
        ALERTS_TOPIC_LOGICAL_NAME: {
            "Type": "AWS::SNS::Topic",
            "Properties": {"TopicName": alerts_topic(settings)},
        }
    }
    for name, spec in alarms(settings).items():
        resources[spec.logical_name] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": spec.alarm_kwargs(name, settings.stage, topic),
        }
    return resources


# CloudFront's API spells a list {"Quantity": n, "Items": [...]}; these of
# its names differ in CloudFormation.
_CLOUDFORMATION_NAMES = {
    "CustomHeaders": "OriginCustomHeaders",
    "OriginSslProtocols": "OriginSSLProtocols",
    "IsIPV6Enabled": "IPV6Enabled",
}


def _as_cloudformation(value: object) -> object:
    """A CloudFront setting as CloudFormation spells it: lists as lists,
    AllowedMethods' CachedMethods beside it."""
    if isinstance(value, dict) and "Quantity" in value:
        return [_as_cloudformation(item) for item in value.get("Items", [])]
    if isinstance(value, dict):
        converted: dict = {}
        for key, item in value.items():
            if key == "AllowedMethods":
                converted["CachedMethods"] = _as_cloudformation(item["CachedMethods"])
            converted[_CLOUDFORMATION_NAMES.get(key, key)] = _as_cloudformation(item)
        return converted
    return value


def _distribution(settings: Settings, spec: DistributionSpec) -> tuple[dict, dict]:
    """The origin secret (generated by Secrets Manager, resolved into the
    distribution's origin header at deploy time), the two policies, the
    distribution in front of Chalice's REST API, and the parameter holding
    its id for the functions' invalidations; and its address, as an output."""
    # An ssm-secure reference resolves only in a few resources' properties,
    # CloudFront's not among them; a secretsmanager one resolves in any.
    secret = {"Fn::Sub": f"{{{{resolve:secretsmanager:${{{spec.secret_logical_name}}}:SecretString}}}}"}
    config = spec.distribution_config(
        settings,
        ({"Fn::Sub": f"${{{CHALICE_REST_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}"}, "/api"),
        secret,
        {"Ref": spec.cache_policy_logical_name},
        {"Ref": spec.forms_policy_logical_name},
    )
    resources = {
        spec.secret_logical_name: {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {
                "Name": settings.origin_secret,
                "Description": "CloudFront's proof to the API",
                "GenerateSecretString": {"PasswordLength": 48, "ExcludePunctuation": True},
            },
        },
        spec.cache_policy_logical_name: {
            "Type": "AWS::CloudFront::CachePolicy",
            "Properties": {"CachePolicyConfig": _as_cloudformation(spec.cache_policy(settings))},
        },
        spec.forms_policy_logical_name: {
            "Type": "AWS::CloudFront::OriginRequestPolicy",
            "Properties": {"OriginRequestPolicyConfig": _as_cloudformation(spec.forms_policy(settings))},
        },
        spec.logical_name: {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": _as_cloudformation(config),
                "Tags": [{"Key": STAGE_TAG, "Value": settings.stage}],
            },
        },
        spec.parameter_logical_name: {
            "Type": "AWS::SSM::Parameter",
            "Properties": {
                "Name": settings.distribution_parameter,
                "Type": "String",
                "Value": {"Ref": spec.logical_name},
                "Description": "The stage's CloudFront distribution, which publishing invalidates",
            },
        },
    }
    output = {
        "ApiDistributionDomain": {
            "Description": "The website's API address (staff routes stay on API Gateway's)",
            "Value": {"Fn::GetAtt": [spec.logical_name, "DomainName"]},
        }
    }
    return resources, output


def template(settings: Settings) -> dict:
    resources = {CONTENT_BUCKET.logical_name: _bucket(settings.content_bucket, CONTENT_BUCKET)}
    for name, spec in tables(settings).items():
        resources[spec.logical_name] = _table(name, spec)
    for name, queue in queues(settings).items():
        resources.update(_queues(name, queue))
    domain = sender_identity(settings)
    resources["SenderIdentity"] = {
        "Type": "AWS::SES::EmailIdentity",
        **_KEEP,
        "Properties": {"EmailIdentity": domain},
    }
    resources.update(_alarms(settings))
    resources[MAIL_EVENTS.logical_name] = {
        "Type": "AWS::SES::ConfigurationSet",
        "Properties": {"Name": configuration_set(settings)},
    }
    default_bus = {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
    }
    resources[MAIL_EVENTS.logical_name + "ToEventBridge"] = {
        "Type": "AWS::SES::ConfigurationSetEventDestination",
        "Properties": {
            "ConfigurationSetName": {"Ref": MAIL_EVENTS.logical_name},
            "EventDestination": {
                "Name": MAIL_EVENTS.destination_name,
                **MAIL_EVENTS.event_destination(default_bus),
            },
        },
    }
    # A property of the API rather than GatewayResponse resources: SAM puts
    # them in the API's definition, so every deployment of it carries them.
    resources[CHALICE_REST_API] = {"Properties": {"GatewayResponses": gateway_responses()}}
    outputs = {
        f"SenderDkimRecord{n}": {
            "Description": f"DNS record {n} of {DKIM_RECORDS} that lets SES send from {domain}",
            "Value": {
                "Fn::Join": [
                    " ",
                    [
                        {"Fn::GetAtt": ["SenderIdentity", f"DkimDNSTokenName{n}"]},
                        "CNAME",
                        {"Fn::GetAtt": ["SenderIdentity", f"DkimDNSTokenValue{n}"]},
                    ],
                ]
            },
        }
        for n in range(1, DKIM_RECORDS + 1)
    }
    edge = distribution(settings)
    if edge is not None:
        made, output = _distribution(settings, edge)
        resources.update(made)
        outputs.update(output)
    built = {"Resources": resources, "Outputs": outputs}
    for section, entries in template_parts(settings).items():
        built.setdefault(section, {}).update(entries)
    return built
