"""Create a stage's bucket, tables and sender identity; safe to run again."""
from __future__ import annotations

from typing import Callable

from . import aws
from .resources import tables
from .settings import Settings

Report = Callable[[str], None]


def provision(settings: Settings, report: Report = print) -> list[str]:
    """Bring the stage's resources to their defined state; return what changed."""
    changes: list[str] = []
    changes += _ensure_bucket(settings.content_bucket)
    for name, spec in tables(settings).items():
        changes += _ensure_table(name, spec)
    changes += _ensure_sender_identity(settings.sender)
    for change in changes:
        report(change)
    if not changes:
        report("Nothing to change: every resource is already in place.")
    return changes


def _ensure_bucket(bucket: str) -> list[str]:
    s3 = aws.s3()
    changes = []
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
        region = s3.meta.region_name
        create = {"Bucket": bucket}
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**create)
        changes.append(f"created bucket {bucket}")

    if s3.get_bucket_versioning(Bucket=bucket).get("Status") != "Enabled":
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        changes.append(f"turned on versioning for {bucket}")

    block_all = {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    try:
        current = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except s3.exceptions.ClientError:
        current = {}
    if current != block_all:
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block_all)
        changes.append(f"blocked all public access to {bucket}")

    encryption = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    except s3.exceptions.ClientError:
        rules = {}
    if not rules.get("Rules"):
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=encryption)
        changes.append(f"turned on default encryption for {bucket}")

    notifications = s3.get_bucket_notification_configuration(Bucket=bucket)
    if "EventBridgeConfiguration" not in notifications:
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
        )
        changes.append(f"sent {bucket}'s events to EventBridge")
    return changes


def _ensure_table(name: str, spec) -> list[str]:
    dynamodb = aws.dynamodb()
    changes = []
    try:
        dynamodb.describe_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**spec.create_table_kwargs(name))
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        changes.append(f"created table {name}")

    backups = dynamodb.describe_continuous_backups(TableName=name)
    recovery = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        changes.append(f"turned on point-in-time recovery for {name}")

    if spec.ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
            )
            changes.append(f"turned on expiry by {spec.ttl_attribute} for {name}")
    return changes


def _ensure_sender_identity(sender: str) -> list[str]:
    ses = aws.ses()
    try:
        ses.get_email_identity(EmailIdentity=sender)
        return []
    except ses.exceptions.NotFoundException:
        ses.create_email_identity(EmailIdentity=sender)
        return [f"created SES identity {sender} (verify it before sending)"]
