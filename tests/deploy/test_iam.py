"""The dev and prod policies grant every AWS action the functions make, on
that stage's own bucket, tables, queue and sender only, and nothing else.

The actions are not guessed from the source: every route and every event
handler runs here against moto, happy and failing paths, while each AWS
call is recorded with its parameters and turned into the IAM action and
resource ARN that AWS would check. The publisher role (nlc_tools/publisher.py)
is held to `nlc-api publish` and `publish --rollback` the same way.
"""

from __future__ import annotations

import fnmatch
import json
import shutil
from dataclasses import dataclass

import pytest
from build_hook import Hook
from conftest import body, create_distribution
from fake_aws import client_error

from app import app
from chalicelib import aws
from chalicelib.names import SOURCE_PREFIX, configuration_set
from chalicelib.settings import PROJECT_DIR, Settings, get_settings, stage_environment
from nlc_tools import publisher
from nlc_tools.resources import STAGE_TAG, sender_identity

REGION = "eu-west-2"
ACCOUNT = "123456789012"  # moto's; the policies leave the account as *
# What the Lambda runtime itself does with the role: write the function's logs.
RUNTIME_ACTIONS = {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"}
# What Lambda's poller does with the role to hand the delivery queue's messages
# to its function. Chalice adds these only to policies it writes itself; the
# tests' worker receives and deletes as the poller does, GetQueueAttributes not.
POLLER_ACTIONS = {"sqs:GetQueueAttributes"}

pytestmark = pytest.mark.filterwarnings("ignore:IAMAuthorizer is not a supported in local mode")


@dataclass(frozen=True)
class Access:
    action: str
    resource: str  # an ARN in the local stage's names


def accesses(service: str, operation: str, params: dict) -> list[Access]:
    """The IAM checks AWS makes for one API call."""
    if service == "DynamoDB":
        if operation in ("BatchWriteItem", "BatchGetItem"):
            return [Access(f"dynamodb:{operation}", _table(name)) for name in params["RequestItems"]]
        if operation == "TransactWriteItems":
            # Checked item by item, as the single-item action of each.
            actions = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                Access(f"dynamodb:{actions[kind]}", _table(request["TableName"]))
                for item in params["TransactItems"]
                for kind, request in item.items()
            ]
        resource = _table(params["TableName"])
        if "IndexName" in params:
            resource += f"/index/{params['IndexName']}"
        return [Access(f"dynamodb:{operation}", resource)]
    if service == "S3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if operation in ("ListObjectsV2", "ListObjects", "HeadBucket"):
            return [Access("s3:ListBucket", bucket)]
        action = {"HeadObject": "GetObject"}.get(operation, operation)
        if action == "GetObject" and "VersionId" in params:
            action = "GetObjectVersion"  # what S3 checks for an older version
        return [Access(f"s3:{action}", f"{bucket}/{params['Key']}")]
    if service == "SQS":
        name = params["QueueName"] if operation == "GetQueueUrl" else params["QueueUrl"].rsplit("/", 1)[1]
        return [Access(f"sqs:{operation}", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}")]
    if service == "SESv2" and operation == "SendEmail":
        domain = params["FromEmailAddress"].rpartition("@")[2].rstrip(">")
        checked = [Access("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{domain}")]
        if "ConfigurationSetName" in params:  # checked on the set as well
            name = params["ConfigurationSetName"]
            checked.append(
                Access("ses:SendEmail", f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{name}")
            )
        return checked
    if service == "EventBridge" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params["Entries"]}
        return [
            Access("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}") for bus in buses
        ]
    if service == "SSM" and operation == "GetParameter":
        return [Access("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{params['Name']}")]
    if service == "CloudFront" and operation == "CreateInvalidation":
        distribution = params["DistributionId"]
        return [
            Access(
                "cloudfront:CreateInvalidation", f"arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}"
            )
        ]
    if service == "Secrets Manager" and operation == "GetSecretValue":
        # Named by its name; AWS checks its ARN, which ends in six random characters.
        secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{params['SecretId']}-AbC123"
        return [Access("secretsmanager:GetSecretValue", secret)]
    if service == "STS" and operation == "GetCallerIdentity":
        return []  # needs no permission
    raise AssertionError(f"no IAM mapping for {service} {operation}: add one")


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


@pytest.fixture
def recorded(aws_calls, aws_faults, fake_aws):
    """Every AWS call with its parameters, the faults to make SES fail, and
    the one fake for a lost answer."""
    return aws_calls, aws_faults, fake_aws


@pytest.fixture
def build_hook():
    with Hook([]) as hook:
        yield hook


ENQUIRY = {"name": "Ada", "email": "ada@example.com", "message": "How do I join?"}
JSON = {"Content-Type": "application/json"}
ORIGIN = {"Origin": "http://localhost:8080", "Access-Control-Request-Method": "POST"}


def put_source(calls: list, name: str, text: str) -> None:
    """An editor's upload: theirs, not the functions', so not recorded."""
    aws.s3().put_object(Bucket=get_settings().content_bucket, Key=SOURCE_PREFIX + name, Body=text.encode())
    calls.pop()


@pytest.fixture(scope="module")
def entry_point_runs() -> dict:
    return {}


@pytest.fixture
def every_entry_point_run(entry_point_runs, request):
    """What running every entry point used: recorded by the first test that
    asks, then read by the others (one run, however many stages are checked)."""
    if "run" not in entry_point_runs:
        entry_point_runs["run"] = request.getfixturevalue("run_every_entry_point")
    return entry_point_runs["run"]


@pytest.fixture
def run_every_entry_point(client, seeded, recorded, worker, submissions_clock, stage_settings, build_hook):
    """Run each route and event handler, on its good and failing paths."""
    calls, faults, fake_aws = recorded
    # The stage's CloudFront, as provisioning makes it: its secret and where its id is noted.
    stage_settings(
        NLC_ORIGIN_SECRET="nlc/local/origin-verify", NLC_DISTRIBUTION_PARAMETER="/nlc/local/distribution-id"
    )
    aws.client("secretsmanager").create_secret(Name="nlc/local/origin-verify", SecretString="secret")
    distribution = create_distribution(aws.client("cloudfront"))["Id"]
    aws.client("ssm").put_parameter(Name="/nlc/local/distribution-id", Value=distribution, Type="String")
    calls.clear()  # provisioning and publishing are staff's, not the functions'
    driven: set[tuple[str, str]] = set()

    def http(method: str, url: str, **kwargs):
        response = getattr(client.http, method.lower())(url, **kwargs)
        driven.add((route_of(url.split("?")[0]), method))
        assert response.status_code < 500, (method, url, response.body)
        return response

    for url in ("/health", "/content?path=/what-we-do/", "/pages", "/collections/nav", "/posts",
                "/documents", "/openapi.json", "/pages/what-we-do", "/search?q=leader", "/feed.xml",
                "/feed.json", "/sitemap.xml"):  # fmt: skip
        http("GET", url)
        http("HEAD", url)
    post_slug = body(client.http.get("/posts"))["posts"][0]["slug"]
    http("GET", f"/posts/{post_slug}")
    http("HEAD", f"/posts/{post_slug}")
    document = body(client.http.get("/documents"))["documents"][0]["url"]
    for url in ("/enquiries", "/accessible-format-requests"):
        http("OPTIONS", url, headers=ORIGIN)
    for _ in range(2):  # the second is answered from the first
        http("POST", "/enquiries", headers={**JSON, "Idempotency-Key": "k-1"}, body=json.dumps(ENQUIRY))
    through_cloudfront = {"X-NLC-Origin-Verify": "secret", "CloudFront-Viewer-Address": "198.51.100.7:443"}
    http("POST", "/enquiries", headers={**JSON, **through_cloudfront}, body=json.dumps(ENQUIRY))
    http(
        "POST",
        "/accessible-format-requests",
        headers=JSON,
        body=json.dumps({"email": "ada@example.com", "document_url": document, "format": "large-print"}),
    )
    lost = fake_aws.fail("TransactWriteItems", lost_answer=True, times=1)  # settled by reading back
    http("POST", "/enquiries", headers=JSON, body=json.dumps({**ENQUIRY, "message": "Lost answer"}))
    fake_aws.heal(lost)
    worker()
    faults["SendEmail"] = client_error("ServiceUnavailable")
    failing = body(http("POST", "/enquiries", headers=JSON, body=json.dumps(ENQUIRY)))["reference"]
    worker()
    client.lambda_.invoke(
        "retry_submissions",
        client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    )
    del faults["SendEmail"]
    # SES's word on a sent email, through EventBridge.
    items = aws.dynamodb().scan(TableName=get_settings().submissions_table)["Items"]
    calls.pop()  # the test's own look
    sent = next(item["pk"]["S"].partition("#")[2] for item in items if item["pk"]["S"].startswith("message#"))
    # ...and SES's Send event, naming the email by its tags.
    for detail_type, mail in (
        ("Email Delivered", {"messageId": sent}),
        ("Email Sent", {"messageId": sent, "tags": {"nlc-reference": [failing], "nlc-copy": ["team"]}}),
    ):
        event = client.events.generate_cw_event(
            source="aws.ses", detail_type=detail_type, detail={"mail": mail}, resources=[]
        )
        client.lambda_.invoke("ses_events", event)
    http("GET", "/admin/submissions?status=received")
    http("POST", f"/admin/submissions/{failing}/retry")
    # A person's requests about their data, ending with erasure.
    for action in ("find", "export", "restrict", "lift", "erase"):
        request = {"email": ENQUIRY["email"], "action": action}
        http("POST", "/admin/data-requests", headers=JSON, body=json.dumps(request))
    # Staff and the bucket's events re-index after an editor's change, and
    # each publish is announced, the build hook's call signed with its key.
    aws.client("ssm").put_parameter(
        Name=get_settings().publish_webhook_secret_parameter, Value="whsec_a2V5", Type="SecureString"
    )
    calls.pop()  # staff's
    stage_settings(NLC_PUBLISH_WEBHOOK_URL=build_hook.url)
    put_source(calls, "pages/about.md", "---\ntitle: About\n---\n\nWho we are.\n")
    put_source(calls, "pages/soon.md", "---\ntitle: Soon\npublish_at: 2099-01-04T09:00:00Z\n---\n\nLater.\n")
    http("POST", "/admin/publish")
    http("GET", "/admin/preview?path=/pages/soon/")
    put_source(calls, "pages/about.md", "---\ntitle: About us\n---\n\nWho we are.\n")
    client.lambda_.invoke(
        "index_content",
        client.events.generate_cw_event(
            source="aws.s3",
            detail_type="Object Created",
            detail={
                "bucket": {"name": get_settings().content_bucket},
                "object": {"key": "content/pages/about.md"},
            },
            resources=[],
        ),
    )
    # The schedule finds nothing due, then, in 2099, makes the page live.
    scheduled = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    client.lambda_.invoke("publish_scheduled", scheduled)
    submissions_clock.offset = 100 * 365 * 24 * 3600
    client.lambda_.invoke("publish_scheduled", scheduled)
    assert client.http.get("/content?path=/pages/soon/").status_code == 200
    assert len(build_hook.received) == 3  # staff's publish, the upload's, the schedule's
    return {access for call in calls for access in accesses(*call, call.params)}, driven


def route_of(path: str) -> str:
    """The app's route (its template) that a URL path reaches."""
    actual = path.split("/")
    for route in app.routes:
        parts = route.split("/")
        if len(parts) == len(actual) and all(
            p.startswith("{") or p == a for p, a in zip(parts, actual, strict=False)
        ):
            return route
    raise AssertionError(f"no route for {path}")


def test_every_route_and_event_handler_is_run(every_entry_point_run):
    _, driven = every_entry_point_run
    assert driven == {(path, method) for path, methods in app.routes.items() for method in methods}
    assert {source.name for source in app.event_sources} == {
        "deliver_submissions",
        "retry_submissions",
        "index_content",
        "publish_scheduled",
        "ses_events",
    }


def stage_settings(stage: str) -> Settings:
    return Settings.from_environment(stage_environment(stage))


def in_stage(access: Access, stage: str) -> Access:
    """The same access with the local stage's names swapped for the stage's
    (the local bucket and content table share a name: swap by service)."""
    local, target = get_settings(), stage_settings(stage)
    service, _, rest = (
        access.resource.partition(":::") if access.resource.startswith("arn:aws:s3") else ("", "", "")
    )
    if service:
        bucket, _, key = rest.partition("/")
        assert bucket == local.content_bucket, access
        return Access(access.action, f"{service}:::{target.content_bucket}" + (f"/{key}" if key else ""))
    if access.resource.startswith("arn:aws:sqs:"):
        prefix, _, queue = access.resource.rpartition(":")
        assert queue == local.delivery_queue, access
        return Access(access.action, f"{prefix}:{target.delivery_queue}")
    if ":table/" in access.resource:
        prefix, _, rest = access.resource.partition(":table/")
        table, _, index = rest.partition("/")
        renamed = {
            local.content_table: target.content_table,
            local.submissions_table: target.submissions_table,
        }
        return Access(access.action, f"{prefix}:table/{renamed[table]}" + (f"/{index}" if index else ""))
    if access.resource.startswith(("arn:aws:events:", "arn:aws:ssm:")):
        # The default bus is every stage's; the build hook's key and the
        # distribution's parameter are the stage's own.
        resource = access.resource
        for old, new in (
            (local.publish_webhook_secret_parameter, target.publish_webhook_secret_parameter),
            ("/nlc/local/distribution-id", target.distribution_parameter),
        ):
            resource = resource.replace(f"parameter{old}", f"parameter{new}")
        return Access(access.action, resource)
    if access.resource.startswith("arn:aws:cloudfront:"):
        return access  # any distribution: the policy's condition names the stage's by its tag
    if access.resource.startswith("arn:aws:secretsmanager:"):
        return Access(access.action, access.resource.replace(":secret:nlc/local/", f":secret:nlc/{stage}/"))
    if ":configuration-set/" in access.resource:
        old, new = configuration_set(local), configuration_set(target)
        assert access.resource.endswith(f"/{old}"), access
        return Access(access.action, access.resource.replace(old, new))
    old, new = f"identity/{sender_identity(local)}", f"identity/{sender_identity(target)}"
    assert access.resource.endswith(old), access
    return Access(access.action, access.resource.replace(old, new))


def policy(stage: str) -> list[dict]:
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())["stages"][stage]
    assert config["autogen_policy"] is False
    document = json.loads((PROJECT_DIR / ".chalice" / config["iam_policy_file"]).read_text())
    assert all(statement["Effect"] == "Allow" for statement in document["Statement"])
    return document["Statement"]


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def grants(statements: list[dict]) -> list[tuple[str, str]]:
    return [
        (action, resource)
        for statement in statements
        for action in _listed(statement["Action"])
        for resource in _listed(statement["Resource"])
    ]


def allowed(access: Access, granted: list[tuple[str, str]]) -> bool:
    return any(
        access.action == action and fnmatch.fnmatchcase(access.resource, pattern)
        for action, pattern in granted
    )


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_grants_every_call_the_functions_make(every_entry_point_run, stage):
    calls, _ = every_entry_point_run
    granted = grants(policy(stage))
    missing = sorted(
        {in_stage(call, stage) for call in calls if not allowed(in_stage(call, stage), granted)}, key=str
    )
    assert missing == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_grants_nothing_the_functions_do_not_use(every_entry_point_run, stage):
    calls, _ = every_entry_point_run
    used = {in_stage(call, stage) for call in calls}
    unused = [
        (action, pattern)
        for action, pattern in grants(policy(stage))
        if action not in RUNTIME_ACTIONS | POLLER_ACTIONS
        and not any(call.action == action and fnmatch.fnmatchcase(call.resource, pattern) for call in used)
    ]
    assert unused == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_names_only_the_stage_own_resources(stage):
    settings = stage_settings(stage)
    own_names = {settings.content_bucket, settings.content_table, settings.submissions_table}
    for action, resource in grants(policy(stage)):
        assert "*" not in action, action
        service = action.split(":")[0]
        if service in ("s3", "dynamodb"):
            assert resource != "*" and not resource.endswith(":*"), resource
            name = resource.split(":::")[-1] if service == "s3" else resource.split(":table/")[1]
            assert name.split("/")[0] in own_names, resource
        elif service == "ses":
            assert resource.endswith(
                (
                    f":identity/{sender_identity(settings)}",
                    f":configuration-set/{configuration_set(settings)}",
                )
            ), resource
        elif service == "sqs":
            assert resource == f"arn:aws:sqs:{REGION}:*:{settings.delivery_queue}", resource
        elif service == "events":
            assert resource == f"arn:aws:events:{REGION}:*:event-bus/default", resource
        elif service == "ssm":
            assert resource in (
                f"arn:aws:ssm:{REGION}:*:parameter{settings.publish_webhook_secret_parameter}",
                f"arn:aws:ssm:{REGION}:*:parameter{settings.distribution_parameter}",
            ), resource
        elif service == "secretsmanager":
            assert resource == f"arn:aws:secretsmanager:{REGION}:*:secret:{settings.origin_secret}-??????"
        elif service == "cloudfront":
            assert resource == "arn:aws:cloudfront::*:distribution/*"  # scoped by its tag: see below
        else:
            assert action in RUNTIME_ACTIONS
            assert resource.endswith(f":log-group:/aws/lambda/nlc-api-{stage}*"), resource


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_invalidating_is_granted_only_on_distributions_tagged_with_the_stage(stage):
    # The id is not known before provisioning: CloudFront checks the
    # distribution's tags (aws:ResourceTag), which provisioning and the template set.
    (statement,) = [s for s in policy(stage) if "cloudfront:CreateInvalidation" in _listed(s["Action"])]
    assert statement["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STAGE_TAG}": stage}}


# The publisher role: what `nlc-api publish` and `publish --rollback` use ------------


@pytest.fixture
def publish_and_rollback_run(aws_calls, stage_settings, build_hook, tmp_path):
    """Publish, change and publish again (a file uploaded by hand, a file
    deleted, a lease left by a process that died), then roll back: every
    AWS call the publisher's commands make, the stage's CloudFront and
    build hook included."""
    from conftest import SEED_CONTENT

    from chalicelib.content.publishing import lease as leases
    from chalicelib.tables import content_table
    from nlc_tools import cli

    stage_settings(NLC_DISTRIBUTION_PARAMETER="/nlc/local/distribution-id")
    distribution = create_distribution(aws.client("cloudfront"))["Id"]
    aws.client("ssm").put_parameter(Name="/nlc/local/distribution-id", Value=distribution, Type="String")
    aws.client("ssm").put_parameter(
        Name=get_settings().publish_webhook_secret_parameter, Value="whsec_a2V5", Type="SecureString"
    )
    stage_settings(NLC_PUBLISH_WEBHOOK_URL=build_hook.url)
    content = tmp_path / "site"
    shutil.copytree(SEED_CONTENT, content)
    aws_calls.clear()  # provisioning's, not the publisher's

    def publish(*extra: str) -> None:
        cli.run(["publish", "--stage", "local", "--content", str(content), *extra])

    publish()
    (content / "pages" / "about.md").write_text("---\ntitle: About\n---\n\nWho we are.\n")
    put_source(aws_calls, "pages/about.md", (content / "pages" / "about.md").read_text())
    next(content.glob("posts/*.md")).unlink()
    content_table.take_lease("gone", "nlc-api publish", leases.process_name(999999999), "", 2**40, 0)
    aws_calls.pop()
    publish()
    publish("--dry-run")
    publish("--rollback")
    assert len(build_hook.received) == 3
    return {access for call in aws_calls for access in accesses(*call, call.params)}


@pytest.fixture(scope="module")
def publisher_runs() -> dict:
    return {}


@pytest.fixture
def publisher_calls(publisher_runs, request) -> set[Access]:
    """What `publish` and `publish --rollback` used: recorded once for every stage checked."""
    if "run" not in publisher_runs:
        publisher_runs["run"] = request.getfixturevalue("publish_and_rollback_run")
    return publisher_runs["run"]


def publisher_policy(stage: str) -> list[dict]:
    """The publisher role's policy, as provisioning gives it in moto's account."""
    return publisher.permissions(stage_settings(stage), REGION, ACCOUNT)["Statement"]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_publisher_role_grants_every_call_of_publish_and_rollback(publisher_calls, stage):
    granted = grants(publisher_policy(stage))
    missing = sorted(
        {in_stage(call, stage) for call in publisher_calls if not allowed(in_stage(call, stage), granted)},
        key=str,
    )
    assert missing == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_publisher_role_grants_nothing_publish_and_rollback_do_not_use(publisher_calls, stage):
    used = {in_stage(call, stage) for call in publisher_calls}
    unused = [
        (action, pattern)
        for action, pattern in grants(publisher_policy(stage))
        if not any(call.action == action and fnmatch.fnmatchcase(call.resource, pattern) for call in used)
    ]
    assert unused == []


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_publisher_role_names_only_the_stage_own_resources(stage):
    settings = stage_settings(stage)
    own = {
        f"arn:aws:s3:::{settings.content_bucket}",
        f"arn:aws:s3:::{settings.content_bucket}/{SOURCE_PREFIX}*",
        f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{settings.content_table}",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{settings.publish_webhook_secret_parameter}",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{settings.distribution_parameter}",
        f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default",
        f"arn:aws:cloudfront::{ACCOUNT}:distribution/*",  # scoped by its tag
    }
    statements = publisher_policy(stage)
    assert {resource for _, resource in grants(statements)} <= own
    assert all("*" not in action for action, _ in grants(statements))
    (invalidate,) = [s for s in statements if "cloudfront:CreateInvalidation" in s["Action"]]
    assert invalidate["Condition"] == {"StringEquals": {f"aws:ResourceTag/{STAGE_TAG}": stage}}
