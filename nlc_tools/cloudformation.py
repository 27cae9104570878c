"""The stage's bucket, tables, queue, sender identity and alarms, and API Gateway's own
error answers, as CloudFormation for `chalice package --merge-template`:
built from the same definitions in resources.py that provisioning applies,
so the two cannot disagree. The gateway responses are merged into Chalice's
REST API, so the template is complete only once merged."""

from __future__ import annotations

from chalicelib.resources import (
    ALERTS_TOPIC_LOGICAL_NAME,
    CONTENT_BUCKET,
    GATEWAY_RESPONSE_HEADERS,
    GATEWAY_RESPONSES,
    MAIL_EVENTS,
    BucketSpec,
    QueueSpec,
    TableSpec,
    alarms,
    alerts_topic,
    configuration_set,
    dead_letter_queue,
    queues,
    sender_identity,
    tables,
)
from chalicelib.settings import Settings

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
    return {"Resources": resources, "Outputs": outputs}
