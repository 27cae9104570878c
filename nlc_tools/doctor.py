"""`nlc-api doctor`: read-only checks of a live stage, for what AWS would
refuse or silently drop though every test passes against the emulator: SES
still in its sandbox, a sender domain never verified, alarms nobody hears,
a schedule switched off, a queue nobody reads.

Each check is `ok`, `fail` (with what is wrong and the fix: a command or a
console page) or `n/a`: it does not apply to the stage, or the AWS answering
(an emulator) cannot say. A check that cannot be answered is never `ok`.
Run with staff's credentials, as at deploy time: it needs only reads.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

from chalicelib import aws, clock
from chalicelib.names import configuration_set
from chalicelib.settings import PROJECT_DIR, Settings
from chalicelib.submissions.submission import FAILED, iso
from chalicelib.tables import submissions_table

from .provision import deployed_rest_api, find_distribution, find_topic
from .resources import (
    MAIL_EVENTS,
    alerts_topic,
    dead_letter_queue,
    distribution,
    sender_identity,
    tables,
)

OK, FAIL, NOT_APPLICABLE = "ok", "fail", "n/a"
RUNTIME = "python3.13"
FAILED_DAYS = 7


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def line(self) -> str:
        """The check in one line: what is wrong, and the fix."""
        text = f"{self.status:<4} {self.name}: {self.detail}"
        return text + (f" Fix: {self.fix}" if self.fix else "")


def ok(name: str, detail: str) -> Check:
    return Check(name, OK, detail)


def fail(name: str, detail: str, fix: str) -> Check:
    return Check(name, FAIL, detail, fix)


def not_applicable(name: str, detail: str) -> Check:
    return Check(name, NOT_APPLICABLE, detail)


def unanswered(error: BaseException) -> bool:
    """Whether the AWS answering has no such call at all: an emulator (moto
    raises NotImplementedError in process; as a server it answers an
    unknown call with an HTML 404, or says it has not been implemented).
    AWS itself never answers so."""
    if isinstance(error, NotImplementedError):
        return True
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return aws.error_code(error) in ("404", "NotImplemented") or "not been implemented" in message


def run_checks(settings: Settings) -> list[Check]:
    """Every check of the stage, in a fixed order."""
    checks: list[Check] = []
    for name, check in CHECKS:
        try:
            checks.append(check(name, settings))
        except Exception as error:
            if unanswered(error):
                checks.append(not_applicable(name, f"the AWS answering cannot say ({aws.error_code(error)})"))
            elif isinstance(error, aws.errors()):
                checks.append(
                    fail(
                        name,
                        f"could not be checked: {aws.describe(error)}",
                        "run doctor with the credentials staff deploy with (it needs read access only)",
                    )
                )
            else:
                raise
    return checks


# SES ------------------------------------------------------------------------------


def _production_access(name: str, settings: Settings) -> Check:
    account = aws.ses().get_account()
    if account.get("ProductionAccessEnabled"):
        return ok(name, "the account is out of the SES sandbox")
    return fail(
        name,
        "the account is in the SES sandbox: every acknowledgement to a visitor's unverified address is refused",
        "request production access in the SES console (Account dashboard > Request production access), "
        "or `aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL "
        f"--website-url {settings.site_url} --use-case-description '...'`",
    )


def _sender_identity(name: str, settings: Settings) -> Check:
    domain = sender_identity(settings)
    ses = aws.ses()
    try:
        identity = ses.get_email_identity(EmailIdentity=domain)
    except ses.exceptions.NotFoundException:
        return fail(name, f"SES has no identity {domain}", f"nlc-api provision --stage {settings.stage}")
    dkim = identity.get("DkimAttributes", {})
    if dkim.get("SigningAttributesOrigin", "AWS_SES") == "AWS_SES" and not dkim.get("Tokens"):
        # Easy DKIM always gives records to add: an identity without any is an emulator's.
        return not_applicable(
            name, f"{domain} has no DKIM records to check (the AWS answering is an emulator)"
        )
    status = dkim.get("Status", "NOT_STARTED")
    if identity.get("VerifiedForSendingStatus") and status == "SUCCESS":
        return ok(name, f"{domain} is verified, DKIM SUCCESS")
    return fail(
        name,
        f"{domain} is not verified for sending (DKIM {status})",
        f"add the DKIM CNAME records `nlc-api provision --stage {settings.stage}` prints to the "
        "domain's DNS; SES verifies them by itself within 72 hours",
    )


def _configuration_set_events(name: str, settings: Settings) -> Check:
    ses = aws.ses()
    set_name = configuration_set(settings)
    fix = f"nlc-api provision --stage {settings.stage}"
    try:
        ses.get_configuration_set(ConfigurationSetName=set_name)
    except ses.exceptions.NotFoundException:
        return fail(name, f"SES has no configuration set {set_name}: every send is refused", fix)
    if settings.stage == "local":
        return not_applicable(name, f"{set_name} exists; the local stack sends SES's events nowhere")
    found = ses.get_configuration_set_event_destinations(ConfigurationSetName=set_name)["EventDestinations"]
    wanted = set(MAIL_EVENTS.event_types)
    for destination in found:
        types = set(destination.get("MatchingEventTypes", []))
        if destination.get("Enabled") and "EventBridgeDestination" in destination and wanted <= types:
            return ok(name, f"{set_name} sends {', '.join(sorted(wanted)).lower()} events to EventBridge")
    return fail(
        name,
        f"{set_name} does not send all of {', '.join(sorted(wanted))} to EventBridge: "
        "what becomes of each email goes unrecorded",
        fix,
    )


# Alarms -------------------------------------------------------------------------------


def _alerts_subscribed(name: str, settings: Settings) -> Check:
    sns = aws.client("sns")
    topic = alerts_topic(settings)
    arn = find_topic(topic)
    if arn is None:
        return fail(
            name,
            f"there is no topic {topic}: alarms go nowhere",
            f"nlc-api provision --stage {settings.stage}",
        )
    subscriptions = [
        subscription
        for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
        for subscription in page["Subscriptions"]
    ]
    confirmed = [s for s in subscriptions if s["SubscriptionArn"].startswith("arn:")]
    if confirmed:
        return ok(name, f"{topic} has {len(confirmed)} confirmed subscription(s)")
    pending = len(subscriptions) - len(confirmed)
    return fail(
        name,
        f"{topic} has no confirmed subscription"
        + (f" ({pending} awaiting confirmation)" if pending else "")
        + ": alarms fire into nothing",
        f"aws sns subscribe --topic-arn {arn} --protocol email --notification-endpoint TEAM-ADDRESS, "
        "then follow the link in the email SNS sends",
    )


# The functions ----------------------------------------------------------------------


@functools.cache
def function_names(settings: Settings) -> dict[str, str]:
    """Each function Chalice deploys for the stage, by its name in app.py:
    its Lambda function's name. The app is loaded as Chalice loads it to
    deploy (from the project, wherever the command runs)."""
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(project_dir=str(PROJECT_DIR), environ=dict(os.environ))
    app = factory.create_config_obj(chalice_stage_name=settings.stage).chalice_app
    names = {"api_handler": f"{app.app_name}-{settings.stage}"}
    for source in app.event_sources:
        names[source.name] = f"{app.app_name}-{settings.stage}-{source.name}"
    return names


def _functions(settings: Settings) -> Iterator[tuple[str, str, dict | None]]:
    """Each function's name in app.py, its Lambda name and configuration (None: missing)."""
    lambda_ = aws.client("lambda")
    for name, function in function_names(settings).items():
        try:
            yield name, function, lambda_.get_function_configuration(FunctionName=function)
        except lambda_.exceptions.ResourceNotFoundException:
            yield name, function, None


def _local(name: str, settings: Settings) -> Check | None:
    if settings.stage == "local":
        return not_applicable(name, "the local stack runs the functions in `nlc-api local`, not in Lambda")
    return None


def _functions_deployed(name: str, settings: Settings) -> Check:
    if local := _local(name, settings):
        return local
    problems = []
    functions = list(_functions(settings))
    for _, function, config in functions:
        if config is None:
            problems.append(f"{function} is missing")
        elif config.get("Runtime") != RUNTIME:
            problems.append(f"{function} runs {config.get('Runtime')}, not {RUNTIME}")
    if problems:
        return fail(name, "; ".join(problems), f"chalice deploy --stage {settings.stage}")
    return ok(name, f"all {len(functions)} functions exist, on {RUNTIME}")


def _arn(function: str) -> str | None:
    lambda_ = aws.client("lambda")
    try:
        return str(lambda_.get_function_configuration(FunctionName=function)["FunctionArn"])
    except lambda_.exceptions.ResourceNotFoundException:
        return None


def _queue_subscription(name: str, settings: Settings) -> Check:
    sqs = aws.sqs()
    queue = settings.delivery_queue
    dead_letters = dead_letter_queue(queue)
    problems, fixes = [], []
    if settings.stage != "local":
        queue_arn = sqs.get_queue_attributes(QueueUrl=aws.queue_url(queue), AttributeNames=["QueueArn"])
        worker = function_names(settings)["deliver_submissions"]
        mappings = aws.client("lambda").list_event_source_mappings(
            EventSourceArn=queue_arn["Attributes"]["QueueArn"]
        )["EventSourceMappings"]
        # A function ARN: arn:aws:lambda:region:account:function:name[:qualifier].
        feeding = [
            m for m in mappings if m["FunctionArn"].split(":")[6] == worker and m.get("State") == "Enabled"
        ]
        if not feeding:
            problems.append(f"{queue} does not feed {worker}: submissions wait for the retry run")
            fixes.append(f"chalice deploy --stage {settings.stage}")
    url = aws.queue_url(dead_letters)
    waiting = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    count = int(waiting["Attributes"]["ApproximateNumberOfMessages"])
    if count:
        problems.append(f"{count} message(s) on {dead_letters}: deliveries the worker failed on")
        fixes.append(
            f"list them with `aws sqs receive-message --queue-url {url} --max-number-of-messages 10 "
            f"--visibility-timeout 0`; each names a submission that `nlc-api retry --stage {settings.stage} "
            "--reference REF` sends"
        )
    if problems:
        return fail(name, "; ".join(problems), "; ".join(fixes))
    fed = "" if settings.stage == "local" else f"{queue} feeds the delivery worker; "
    return ok(name, f"{fed}{dead_letters} is empty")


# What the functions run on: a schedule or an event rule for each.
SCHEDULED = {
    "retry_submissions": "the retry schedule",
    "publish_scheduled": "the go-live schedule",
    "index_content": "the bucket's event rule",
    "ses_events": "the SES event rule",
}


def _schedules_enabled(name: str, settings: Settings) -> Check:
    if local := _local(name, settings):
        return local
    events = aws.client("events")
    names = function_names(settings)
    problems, fixes = [], []
    for function_name, what in SCHEDULED.items():
        arn = _arn(names[function_name])
        rules = events.list_rule_names_by_target(TargetArn=arn)["RuleNames"] if arn else []
        if not rules:
            problems.append(f"{what} is missing")
            fixes.append(f"chalice deploy --stage {settings.stage}")
        for rule in rules:
            if events.describe_rule(Name=rule)["State"] != "ENABLED":
                problems.append(f"{what} ({rule}) is disabled")
                fixes.append(f"aws events enable-rule --name {rule}")
    if problems:
        return fail(name, "; ".join(problems), "; ".join(dict.fromkeys(fixes)))
    return ok(name, "the retry and go-live schedules and the bucket and SES event rules are enabled")


# Data ---------------------------------------------------------------------------------


def _bucket_versioning(name: str, settings: Settings) -> Check:
    bucket = settings.content_bucket
    status = aws.s3().get_bucket_versioning(Bucket=bucket).get("Status", "never enabled")
    if status == "Enabled":
        return ok(name, f"{bucket} keeps every version (rollback can restore them)")
    return fail(
        name,
        f"versioning of {bucket} is {status}: publish --rollback cannot restore what is overwritten",
        f"nlc-api provision --stage {settings.stage}",
    )


def _point_in_time_recovery(name: str, settings: Settings) -> Check:
    dynamodb = aws.dynamodb()
    off = []
    for table in tables(settings):
        backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
        status = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
        if status != "ENABLED":
            off.append(table)
    if off:
        return fail(
            name,
            f"point-in-time recovery is off for {', '.join(off)}",
            f"nlc-api provision --stage {settings.stage}",
        )
    return ok(name, f"on for {', '.join(tables(settings))}")


def _distribution(name: str, settings: Settings) -> Check:
    spec = distribution(settings)
    if spec is None:
        return not_applicable(name, f"the {settings.stage} stage has no CloudFront distribution")
    fix = f"nlc-api provision --stage {settings.stage} (after chalice deploy)"
    deployed = deployed_rest_api(settings.stage)
    found = find_distribution(spec.comment(settings))
    if deployed is None or found is None:
        missing = (
            "the API is not deployed from this checkout" if deployed is None else "there is no distribution"
        )
        return fail(name, missing, fix)
    api_id = deployed[0]
    answer = aws.client("cloudfront").get_distribution(Id=found[0])["Distribution"]
    origins = answer["DistributionConfig"]["Origins"]["Items"]
    region = aws.client("apigateway").meta.region_name
    wanted = f"{api_id}.execute-api.{region}.amazonaws.com"
    if not any(origin["DomainName"] == wanted for origin in origins):
        return fail(
            name,
            f"distribution {found[0]} points at {', '.join(o['DomainName'] for o in origins)}, not the "
            f"stage's current API {api_id}",
            fix,
        )
    if answer.get("Status") != "Deployed":
        return fail(
            name,
            f"distribution {found[0]} is {answer.get('Status')}, not yet Deployed",
            "wait a few minutes (CloudFront deploys to every edge), then run doctor again",
        )
    return ok(name, f"distribution {found[0]} is deployed in front of API {api_id}")


def _webhook_secret(name: str, settings: Settings) -> Check:
    if not settings.publish_webhook_url:
        return not_applicable(name, "no build hook is set (NLC_PUBLISH_WEBHOOK_URL)")
    parameter = settings.publish_webhook_secret_parameter
    put = (
        f"aws ssm put-parameter --overwrite --type SecureString --name {parameter} "
        '--value "whsec_$(openssl rand -base64 32)"'
    )
    ssm = aws.client("ssm")
    try:
        value = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        return fail(name, f"the build hook's secret {parameter} does not exist: no hook is called", put)
    if not str(value).startswith("whsec_"):
        return fail(name, f"{parameter} is not in the form whsec_<base64>: no hook is called", put)
    if settings.stage == "local":
        return ok(name, f"{parameter} exists")
    region = ssm.meta.region_name
    readable = _role_may(
        "ssm:GetParameter", f"arn:aws:ssm:{region}:{{account}}:parameter{parameter}", settings
    )
    if readable is None:
        return not_applicable(name, f"{parameter} exists; the functions' role cannot be read")
    if not readable:
        return fail(
            name,
            f"{parameter} exists, but the functions' role may not read it",
            f"grant ssm:GetParameter on it in .chalice/policy-{settings.stage}.json, then chalice deploy",
        )
    return ok(name, f"{parameter} exists and the functions' role may read it")


def _role_may(action: str, arn: str, settings: Settings) -> bool | None:
    """Whether the functions' role has an inline policy (Chalice gives it the
    stage's policy file) allowing the action on the ARN, whose `{account}`
    is the role's; None if there is no function to find the role by."""
    config = next(iter(_functions(settings)))[2]
    if config is None:
        return None
    iam = aws.client("iam")
    role_arn = config["Role"]
    arn = arn.format(account=role_arn.split(":")[4])
    role = role_arn.rsplit("/", 1)[1]
    for policy in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
        if isinstance(document, str):
            document = json.loads(document)
        for statement in document.get("Statement", []):
            if statement.get("Effect") != "Allow" or action not in _listed(statement.get("Action", [])):
                continue
            if any(fnmatch.fnmatchcase(arn, pattern) for pattern in _listed(statement.get("Resource", []))):
                return True
    return False


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def _failed_submissions(name: str, settings: Settings) -> Check:
    since = iso(clock.now() - FAILED_DAYS * 86400)
    count = submissions_table.count_with_status(FAILED, created_since=since)
    if count:
        return fail(
            name,
            f"{count} submission(s) received in the last {FAILED_DAYS} days failed to reach their team",
            f"nlc-api submissions --stage {settings.stage} --status failed lists them; "
            f"nlc-api retry --stage {settings.stage} --reference REF sends one once the fault is mended",
        )
    return ok(name, f"none failed in the last {FAILED_DAYS} days")


CHECKS: tuple[tuple[str, Callable[[str, Settings], Check]], ...] = (
    ("ses-production-access", _production_access),
    ("sender-identity", _sender_identity),
    ("configuration-set-events", _configuration_set_events),
    ("alerts-subscribed", _alerts_subscribed),
    ("functions-deployed", _functions_deployed),
    ("queue-subscription", _queue_subscription),
    ("schedules-enabled", _schedules_enabled),
    ("bucket-versioning", _bucket_versioning),
    ("point-in-time-recovery", _point_in_time_recovery),
    ("distribution", _distribution),
    ("webhook-secret", _webhook_secret),
    ("failed-submissions", _failed_submissions),
)


def report(checks: list[Check], output_format: str) -> str:
    if output_format == "json":
        return json.dumps({"checks": [asdict(check) for check in checks]}, indent=2)
    failed = sum(check.status == FAIL for check in checks)
    summary = (
        f"{failed} of {len(checks)} checks failed."
        if failed
        else f"All {len(checks)} checks passed or do not apply."
    )
    return "\n".join([*(check.line() for check in checks), summary])


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == FAIL]
