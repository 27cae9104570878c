"""Definitions of the bucket, tables and queue: the single source for
provisioning, the local stack, the tests and the CloudFormation template.
Deploy-time only: the names the functions need too are in chalicelib/names.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from chalicelib.names import CONTENT_TABLE_KEYS
from chalicelib.observability import CONTENT_REJECTED, FAILED_FORWARDS, METRICS_NAMESPACE
from chalicelib.origin_secret import ORIGIN_VERIFY_HEADER, VIEWER_ADDRESS_HEADER
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: string keys, on-demand billing."""

    logical_name: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    extra_attributes: tuple[str, ...] = field(default=())

    def create_table_kwargs(self, table_name: str) -> dict:
        def key_schema(partition: str, sort: str | None) -> list[dict]:
            schema = [{"AttributeName": partition, "KeyType": "HASH"}]
            if sort:
                schema.append({"AttributeName": sort, "KeyType": "RANGE"})
            return schema

        attributes = {self.partition_key, *filter(None, [self.sort_key])}
        for index in self.indexes:
            attributes.update(filter(None, [index.partition_key, index.sort_key]))
        kwargs: dict = {
            "TableName": table_name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": key_schema(self.partition_key, self.sort_key),
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)
            ],
        }
        if self.indexes:
            kwargs["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": index.name,
                    "KeySchema": key_schema(index.partition_key, index.sort_key),
                    "Projection": {"ProjectionType": "ALL"},
                }
                for index in self.indexes
            ]
        return kwargs


# Every content read is one GetItem or one Query on (pk, sk): see storage.py
# for the item layout.
CONTENT_TABLE = TableSpec(
    logical_name="ContentTable", partition_key=CONTENT_TABLE_KEYS[0], sort_key=CONTENT_TABLE_KEYS[1]
)

# Submissions, rate-limit counters and idempotency records (see submissions.py
# for the item layout). Only submissions carry `status` and `email_digest`, so
# the indexes hold them alone, oldest first: by status for delivery and staff,
# by the sender's address for their requests about their data; every item
# expires by `expires_at`.
SUBMISSIONS_TABLE = TableSpec(
    logical_name="SubmissionsTable",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        Index(name="by-status", partition_key="status", sort_key="created_at"),
        Index(name="by-email", partition_key="email_digest", sort_key="created_at"),
    ),
    ttl_attribute="expires_at",
)


def tables(settings: Settings) -> dict[str, TableSpec]:
    """Each table of a stage, by its name in that stage."""
    return {
        settings.content_table: CONTENT_TABLE,
        settings.submissions_table: SUBMISSIONS_TABLE,
    }


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue with a dead-letter queue for messages its consumer
    failed on `max_receives` times, encrypted at rest by SQS's own keys."""

    logical_name: str
    # At least the consumer's timeout, six times over as AWS advises for a
    # Lambda event source, so a message is not handed out again while a
    # delivery is still running.
    visibility_timeout: int
    max_receives: int = 3
    retention_seconds: int = 4 * 86400
    dead_letter_retention_seconds: int = 14 * 86400

    @property
    def dead_letter_logical_name(self) -> str:
        return self.logical_name + "DeadLetters"

    def attributes(self, dead_letter_arn: str) -> dict[str, str]:
        """The queue's attributes as SQS's API spells them."""
        return {
            "VisibilityTimeout": str(self.visibility_timeout),
            "MessageRetentionPeriod": str(self.retention_seconds),
            "SqsManagedSseEnabled": "true",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": self.max_receives},
                separators=(",", ":"),
            ),
        }

    def dead_letter_attributes(self) -> dict[str, str]:
        return {
            "MessageRetentionPeriod": str(self.dead_letter_retention_seconds),
            "SqsManagedSseEnabled": "true",
        }


def dead_letter_queue(name: str) -> str:
    return name + "-dead-letters"


# Submission references waiting to be sent: the API puts each stored
# submission's reference here, and `deliver_submissions` sends it (90 s limit).
DELIVERY_QUEUE = QueueSpec(logical_name="DeliveryQueue", visibility_timeout=6 * 90)


def queues(settings: Settings) -> dict[str, QueueSpec]:
    """Each queue of a stage, by its name in that stage."""
    return {settings.delivery_queue: DELIVERY_QUEUE}


@dataclass(frozen=True)
class BucketSpec:
    """An S3 bucket: versioned (old content can be restored), private (the
    API serves content, never the bucket), encrypted at rest, and sending its
    events to EventBridge, where the indexing handler listens."""

    logical_name: str
    encryption_algorithm: str = "AES256"
    public_access_block: dict = field(
        default_factory=lambda: {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
    )


CONTENT_BUCKET = BucketSpec(logical_name="ContentBucket")


def sender_identity(settings: Settings) -> str:
    """The SES identity mail is sent from: the sender's domain, verified once
    by DNS (DKIM), so any address at it can send and DMARC passes."""
    return settings.sender.rpartition("@")[2]


@dataclass(frozen=True)
class GatewayResponse:
    """An answer API Gateway gives by itself, before the API's code runs (an
    unknown route, a refused signature, its own faults), in the API's error
    shape. `status` None keeps API Gateway's; `message` None is its own."""

    response_type: str
    code: str
    status: str | None = None
    message: str | None = None

    def body(self) -> str:
        message = json.dumps(self.message) if self.message else "$context.error.messageString"
        return f'{{"error": {{"code": "{self.code}", "message": {message}}}}}'


NO_SUCH_ROUTE = (
    "No route of this API answers this method and path "
    "(the /admin routes also need requests signed with AWS credentials)."
)
# Set by the packaged template (the REST API's GatewayResponses) and by
# provisioning once `chalice deploy` has made the API; the local server
# answers the same (nlc_tools/local.py).
GATEWAY_RESPONSES = (
    GatewayResponse("MISSING_AUTHENTICATION_TOKEN", "not_found", status="404", message=NO_SUCH_ROUTE),
    GatewayResponse("ACCESS_DENIED", "forbidden"),
    GatewayResponse("DEFAULT_4XX", "bad_request"),
    GatewayResponse("DEFAULT_5XX", "internal_error", message="Something went wrong. Try again later."),
)
GATEWAY_RESPONSE_HEADERS = {"Cache-Control": "'no-store'"}


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm on one of the API's own metrics (observability.py),
    raised on any occurrence in five minutes: each one is a person's enquiry
    not forwarded, or content the API does not serve."""

    logical_name: str
    metric: str
    description: str
    period_seconds: int = 300

    def alarm_kwargs(self, name: str, stage: str, topic_arn: object) -> dict:
        """The alarm as CloudWatch's PutMetricAlarm and CloudFormation both
        spell it; `topic_arn` is an ARN, or a reference to the topic."""
        return {
            "AlarmName": name,
            "AlarmDescription": self.description,
            "Namespace": METRICS_NAMESPACE,
            "MetricName": self.metric,
            "Dimensions": [{"Name": "Stage", "Value": stage}],
            "Statistic": "Sum",
            "Period": self.period_seconds,
            "EvaluationPeriods": 1,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            # The metrics are written only when something goes wrong.
            "TreatMissingData": "notBreaching",
            "AlarmActions": [topic_arn],
            "OKActions": [topic_arn],
        }


# Staff subscribe to the stage's alerts topic (docs/deploying.md, "Watching it").
ALERTS_TOPIC_LOGICAL_NAME = "AlertsTopic"
FAILED_FORWARDS_ALARM = AlarmSpec(
    logical_name="FailedForwardsAlarm",
    metric=FAILED_FORWARDS,
    description="A submission could not be forwarded after its last retry: "
    "nlc-api submissions --status failed lists it.",
)
CONTENT_REJECTED_ALARM = AlarmSpec(
    logical_name="ContentRejectedAlarm",
    metric=CONTENT_REJECTED,
    description="The bucket holds content sources the indexer refused: the API still serves the last good content.",
)


def alerts_topic(settings: Settings) -> str:
    return f"nlc-{settings.stage}-alerts"


def alarms(settings: Settings) -> dict[str, AlarmSpec]:
    """Each alarm of a stage, by its name in that stage."""
    return {
        f"nlc-{settings.stage}-failed-forwards": FAILED_FORWARDS_ALARM,
        f"nlc-{settings.stage}-content-rejected": CONTENT_REJECTED_ALARM,
    }


@dataclass(frozen=True)
class MailEventsSpec:
    """An SES configuration set every email is sent with, sending what SES
    learns of each message to EventBridge's default bus, where `ses_events`
    records it on the submission."""

    logical_name: str
    destination_name: str = "eventbridge"
    # SEND: SES took the message, which records it even if its sender died.
    event_types: tuple[str, ...] = ("SEND", "DELIVERY", "BOUNCE", "COMPLAINT", "REJECT")

    def event_destination(self, bus_arn: object) -> dict:
        """The event destination as SES's API and CloudFormation spell it."""
        return {
            "Enabled": True,
            "MatchingEventTypes": list(self.event_types),
            "EventBridgeDestination": {"EventBusArn": bus_arn},
        }


MAIL_EVENTS = MailEventsSpec(logical_name="MailEvents")


# CloudFront in front of the API ----------------------------------------------------

# Tagged with its stage: the functions may invalidate only their stage's.
STAGE_TAG = "nlc:stage"
# AWS's managed cache policy that caches nothing (CachingDisabled).
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE")
READ_METHODS = ("GET", "HEAD", "OPTIONS")
CACHED_METHODS = ("GET", "HEAD")
_ORIGIN_ID = "api"


def _listed(items: list | tuple) -> dict:
    """A list as CloudFront's API spells one."""
    return {"Quantity": len(items), "Items": list(items)}


@dataclass(frozen=True)
class DistributionSpec:
    """The stage's CloudFront distribution: the address the website calls.

    Content routes (the default behaviour) are cached for as long as the
    API's own Cache-Control says (nothing without one), keyed by every query
    string (`/content?path=`, `/search?q=`) and by Origin (CORS answers
    differ by it), compressed with gzip or brotli; only GET, HEAD and
    OPTIONS pass. The form routes pass every method, uncached, with the
    headers they read and the visitor's address. Host is never forwarded:
    API Gateway answers only to its own name. Staff routes are not served
    here (SigV4 signs the Host CloudFront rewrites, and the default
    behaviour takes no POST): staff use the API Gateway address.
    """

    logical_name: str
    cache_policy_logical_name: str
    forms_policy_logical_name: str
    secret_logical_name: str
    parameter_logical_name: str
    form_routes: tuple[str, ...]
    # Every header the form routes read (form_posts.py, forms_api.py, the
    # middleware) and the preflight's, and the visitor's address.
    form_headers: tuple[str, ...]
    # The longest CloudFront keeps an answer, whatever Cache-Control says.
    max_ttl_seconds: int = 86400
    # Europe and North America's edges: the audience is in the UK.
    price_class: str = "PriceClass_100"
    http_version: str = "http2and3"

    def comment(self, settings: Settings) -> str:
        return f"nlc-{settings.stage} API"

    def cache_policy_name(self, settings: Settings) -> str:
        return f"nlc-{settings.stage}-content"

    def forms_policy_name(self, settings: Settings) -> str:
        return f"nlc-{settings.stage}-forms"

    def cache_policy(self, settings: Settings) -> dict:
        """The content cache policy as CloudFront's API spells it."""
        return {
            "Name": self.cache_policy_name(settings),
            "Comment": "The API's own Cache-Control; nothing cached without one",
            "MinTTL": 0,
            "DefaultTTL": 0,
            "MaxTTL": self.max_ttl_seconds,
            "ParametersInCacheKeyAndForwardedToOrigin": {
                "EnableAcceptEncodingGzip": True,
                "EnableAcceptEncodingBrotli": True,
                "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _listed(["Origin"])},
                "CookiesConfig": {"CookieBehavior": "none"},
                "QueryStringsConfig": {"QueryStringBehavior": "all"},
            },
        }

    def forms_policy(self, settings: Settings) -> dict:
        """The form routes' origin request policy as CloudFront's API spells it."""
        return {
            "Name": self.forms_policy_name(settings),
            "Comment": "What the form routes read, and the visitor's address",
            "HeadersConfig": {"HeaderBehavior": "whitelist", "Headers": _listed(self.form_headers)},
            "CookiesConfig": {"CookieBehavior": "none"},
            "QueryStringsConfig": {"QueryStringBehavior": "none"},
        }

    def distribution_config(
        self,
        settings: Settings,
        origin: tuple[object, str],
        secret: object,
        cache_policy_id: object,
        forms_policy_id: object,
    ) -> dict:
        """The distribution as CloudFront's API spells it (no CallerReference).
        `origin` is the API's domain and its stage's path (`/api`)."""
        return {
            "Comment": self.comment(settings),
            "Enabled": True,
            "PriceClass": self.price_class,
            "HttpVersion": self.http_version,
            "IsIPV6Enabled": True,
            "Origins": _listed(
                [
                    {
                        "Id": _ORIGIN_ID,
                        "DomainName": origin[0],
                        "OriginPath": origin[1],
                        "CustomHeaders": _listed(
                            [{"HeaderName": ORIGIN_VERIFY_HEADER, "HeaderValue": secret}]
                        ),
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                            "OriginSslProtocols": _listed(["TLSv1.2"]),
                        },
                    }
                ]
            ),
            "DefaultCacheBehavior": {
                **self._behaviour(READ_METHODS, cache_policy_id),
                "Compress": True,
            },
            "CacheBehaviors": _listed(
                [
                    {
                        "PathPattern": route,
                        **self._behaviour(ALL_METHODS, CACHING_DISABLED),
                        "OriginRequestPolicyId": forms_policy_id,
                        "Compress": False,
                    }
                    for route in self.form_routes
                ]
            ),
        }

    @staticmethod
    def _behaviour(methods: tuple[str, ...], cache_policy_id: object) -> dict:
        return {
            "TargetOriginId": _ORIGIN_ID,
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {**_listed(methods), "CachedMethods": _listed(CACHED_METHODS)},
            "CachePolicyId": cache_policy_id,
        }


API_DISTRIBUTION = DistributionSpec(
    logical_name="ApiDistribution",
    cache_policy_logical_name="ApiContentCachePolicy",
    forms_policy_logical_name="ApiFormsOriginRequestPolicy",
    secret_logical_name="OriginVerifySecret",
    parameter_logical_name="ApiDistributionIdParameter",
    form_routes=("/enquiries", "/accessible-format-requests"),
    form_headers=(
        "Origin",
        "Content-Type",
        "Accept",
        "Referer",
        "Idempotency-Key",
        "Access-Control-Request-Method",
        "Access-Control-Request-Headers",
        VIEWER_ADDRESS_HEADER,
    ),
)


def distribution(settings: Settings) -> DistributionSpec | None:
    """The stage's distribution; None for a stage without one (local)."""
    return API_DISTRIBUTION if settings.distribution_parameter and settings.origin_secret else None
