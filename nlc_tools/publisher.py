"""The stage's publisher role: what the site repository's GitHub workflow
assumes, through GitHub's OIDC provider, to run `nlc-api publish` with no
long-lived AWS key anywhere.

Only the repository and git ref the stage names (NLC_PUBLISH_REPOSITORY,
NLC_PUBLISH_REF) may assume it: its trust policy holds the token's audience
and subject with StringEquals, so neither a fork, another branch nor a pull
request can publish. It may make exactly the calls `nlc-api publish` and
`publish --rollback` make (tests/deploy/test_iam.py records them), on the stage's
own bucket, content table, parameters and distribution.

`nlc-api provision` applies it (`ensure_publisher`), and the prod template
holds the same definitions (`template_parts`)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from chalicelib import aws
from chalicelib.names import SOURCE_PREFIX
from chalicelib.settings import Settings

from .resources import STAGE_TAG

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_OIDC_URL = f"https://{GITHUB_OIDC_HOST}"
AUDIENCE = "sts.amazonaws.com"  # what aws-actions/configure-aws-credentials asks for
POLICY_NAME = "publish"
# An owner and a repository as GitHub allows them: no wildcard can slip in.
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")

# The template's names.
PROVIDER_LOGICAL_NAME = "GitHubOidcProvider"
PROVIDER_PARAMETER = "GitHubOidcProviderArn"
CREATE_PROVIDER = "CreateGitHubOidcProvider"
ROLE_LOGICAL_NAME = "PublisherRole"


class PublisherError(Exception):
    """A stage setting the role cannot be made from."""


def role_name(settings: Settings) -> str:
    return f"nlc-{settings.stage}-publisher"


def subject(settings: Settings) -> str:
    """The `sub` of the token GitHub gives a workflow run of that repository and ref."""
    if not _REPOSITORY.match(settings.publish_repository):
        raise PublisherError(
            f"NLC_PUBLISH_REPOSITORY must be owner/repo, not {settings.publish_repository!r}"
        )
    if not settings.publish_ref.startswith("refs/") or "*" in settings.publish_ref:
        raise PublisherError(
            f"NLC_PUBLISH_REF must be a full ref like refs/heads/main, not {settings.publish_ref!r}"
        )
    return f"repo:{settings.publish_repository}:ref:{settings.publish_ref}"


def trust_policy(settings: Settings, provider: object) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                        f"{GITHUB_OIDC_HOST}:sub": subject(settings),
                    }
                },
            }
        ],
    }


def permissions(settings: Settings, region: str, account: str) -> dict:
    """What `publish` and `publish --rollback` do, on the stage's own resources."""
    bucket = f"arn:aws:s3:::{settings.content_bucket}"
    sources = f"{bucket}/{SOURCE_PREFIX}*"
    parameters = [
        f"arn:aws:ssm:{region}:{account}:parameter{name}"
        for name in (settings.publish_webhook_secret_parameter, settings.distribution_parameter)
        if name
    ]
    statements = [
        _allow("ListContentSources", ["s3:ListBucket"], [bucket]),
        # GetObjectVersion: a rollback reads the files of an earlier release.
        _allow("ReadContentSources", ["s3:GetObject", "s3:GetObjectVersion"], [sources]),
        _allow("WriteContentSources", ["s3:PutObject", "s3:DeleteObject"], [sources]),
        _allow(
            "PublishContent",
            [
                "dynamodb:GetItem",
                "dynamodb:Query",
                "dynamodb:Scan",
                "dynamodb:BatchWriteItem",
                "dynamodb:UpdateItem",
            ],
            [f"arn:aws:dynamodb:{region}:{account}:table/{settings.content_table}"],
        ),
        _allow(
            "AnnouncePublishes",
            ["events:PutEvents"],
            [f"arn:aws:events:{region}:{account}:event-bus/default"],
        ),
    ]
    if parameters:
        statements.append(_allow("ReadPublishSettings", ["ssm:GetParameter"], parameters))
    if settings.distribution_parameter:
        # The id is not known before provisioning: CloudFront checks the tag.
        invalidate = _allow(
            "InvalidateOwnDistribution",
            ["cloudfront:CreateInvalidation"],
            [f"arn:aws:cloudfront::{account}:distribution/*"],
        )
        invalidate["Condition"] = {"StringEquals": {f"aws:ResourceTag/{STAGE_TAG}": settings.stage}}
        statements.append(invalidate)
    return {"Version": "2012-10-17", "Statement": statements}


def _allow(sid: str, actions: list[str], resources: list[str]) -> dict:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


# Provisioning ---------------------------------------------------------------------


def ensure_publisher(settings: Settings, report: Callable[[str], None]) -> list[str]:
    """The OIDC provider (the account's own, if it has one) and the role, as
    defined; a role changed by hand is put back. Prints the role's ARN."""
    if not settings.publish_repository:
        return []
    trust_subject = subject(settings)
    provider, changes = _ensure_provider()
    iam = aws.client("iam")
    name = role_name(settings)
    trust = trust_policy(settings, provider)
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust),
            Description=f"Publishes the {settings.stage} stage's content from GitHub ({trust_subject})",
            Tags=[{"Key": STAGE_TAG, "Value": settings.stage}],
        )["Role"]
        changes.append(f"created role {name} for {trust_subject}")
    else:
        if role["AssumeRolePolicyDocument"] != trust:
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust))
            changes.append(f"put back who may assume role {name}: {trust_subject}")
    changes += _ensure_role_permissions(name, settings)
    # Not a change: what the site repository's workflow needs, on every run.
    report(f"The publisher role, for the site repository's NLC_PUBLISH_ROLE_ARN variable: {role['Arn']}")
    return changes


def _ensure_provider() -> tuple[str, list[str]]:
    iam = aws.client("iam")
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    arn = next((p["Arn"] for p in listed if p["Arn"].endswith(f":oidc-provider/{GITHUB_OIDC_HOST}")), None)
    if arn is None:
        # No thumbprint: IAM trusts GitHub's certificate authority by itself.
        arn = iam.create_open_id_connect_provider(Url=GITHUB_OIDC_URL, ClientIDList=[AUDIENCE])[
            "OpenIDConnectProviderArn"
        ]
        return arn, [f"created the OIDC provider for {GITHUB_OIDC_URL}"]
    clients = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn).get("ClientIDList", [])
    if AUDIENCE in clients:
        return arn, []
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=AUDIENCE)
    return arn, [f"let the OIDC provider for {GITHUB_OIDC_URL} give tokens for {AUDIENCE}"]


def _ensure_role_permissions(name: str, settings: Settings) -> list[str]:
    """Exactly the publish policy: any other policy on the role is removed."""
    iam = aws.client("iam")
    region = aws.dynamodb().meta.region_name
    account = aws.client("sts").get_caller_identity()["Account"]
    wanted = permissions(settings, region, account)
    changes = []
    for other in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        if other != POLICY_NAME:
            iam.delete_role_policy(RoleName=name, PolicyName=other)
            changes.append(f"removed policy {other} from role {name}")
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        changes.append(f"detached policy {attached['PolicyName']} from role {name}")
    try:
        current = iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        current = None
    if current != wanted:
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(wanted))
        changes.append(f"{'put back' if current else 'gave'} role {name} its {POLICY_NAME} policy")
    return changes


# The template ---------------------------------------------------------------------


def template_parts(settings: Settings) -> dict:
    """The provider (unless the stack is given the account's), the role and
    its ARN as the template's Parameters, Conditions, Resources and Outputs."""
    if not settings.publish_repository:
        return {}
    provider = {"Fn::If": [CREATE_PROVIDER, {"Ref": PROVIDER_LOGICAL_NAME}, {"Ref": PROVIDER_PARAMETER}]}
    policy = permissions(settings, "${AWS::Region}", "${AWS::AccountId}")
    for statement in policy["Statement"]:
        statement["Resource"] = [
            {"Fn::Sub": resource} if "${" in resource else resource for resource in statement["Resource"]
        ]
    return {
        "Parameters": {
            PROVIDER_PARAMETER: {
                "Type": "String",
                "Default": "",
                "Description": f"The account's IAM OIDC provider for {GITHUB_OIDC_URL}, if it has "
                "one (an account holds one per URL); empty: the stack creates it",
            }
        },
        "Conditions": {CREATE_PROVIDER: {"Fn::Equals": [{"Ref": PROVIDER_PARAMETER}, ""]}},
        "Resources": {
            PROVIDER_LOGICAL_NAME: {
                "Type": "AWS::IAM::OIDCProvider",
                "Condition": CREATE_PROVIDER,
                "Properties": {"Url": GITHUB_OIDC_URL, "ClientIdList": [AUDIENCE]},
            },
            ROLE_LOGICAL_NAME: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": role_name(settings),
                    "Description": f"Publishes the {settings.stage} stage's content from GitHub "
                    f"({subject(settings)})",
                    "AssumeRolePolicyDocument": trust_policy(settings, provider),
                    "Policies": [{"PolicyName": POLICY_NAME, "PolicyDocument": policy}],
                    "Tags": [{"Key": STAGE_TAG, "Value": settings.stage}],
                },
            },
        },
        "Outputs": {
            "PublisherRoleArn": {
                "Description": "For the site repository's NLC_PUBLISH_ROLE_ARN variable",
                "Value": {"Fn::GetAtt": [ROLE_LOGICAL_NAME, "Arn"]},
            }
        },
    }
