"""The AWS emulator as the deploy and provisioning tests use it: moto's server
on a free loopback port, with gaps in moto filled on moto's side (the app
is never changed to suit the emulator):

- moto stores a bucket's EventBridge notification but leaves it out of
  GetBucketNotificationConfiguration, which real S3 returns;
- moto imports REST APIs only as OpenAPI 3, while Chalice deploys Swagger 2.0;
- moto has no CloudFront cache or origin request policies;
- moto cannot add a client id to an IAM OIDC provider.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.cloudfront import urls as cloudfront_urls
from moto.cloudfront.responses import CloudFrontResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.iam.responses import IamResponse
from moto.s3.responses import S3Response
from moto.sesv2 import urls as sesv2_urls
from moto.sesv2.responses import SESV2Response

from nlc_tools.local import start_emulator


def _with_eventbridge(original):
    def get_bucket_notification(self: S3Response):
        status, headers, body = original(self)
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is not None and config.event_bridge is not None:
            if body.endswith("/>"):
                body = body[:-2] + "></NotificationConfiguration>"
            body = body.replace(
                "</NotificationConfiguration>",
                "<EventBridgeConfiguration/></NotificationConfiguration>",
            )
        return status, headers, body

    return get_bucket_notification


def _event_destinations(self: SESV2Response) -> dict[str, dict]:
    """A configuration set's event destinations, kept on moto's own object."""
    name = self.path.split("/configuration-sets/")[1].split("/")[0]
    configuration_set = self.sesv2_backend.get_configuration_set(name)
    if not hasattr(configuration_set, "event_destinations"):
        configuration_set.event_destinations = {}
    return configuration_set.event_destinations


def _get_event_destinations(self: SESV2Response) -> str:
    return json.dumps({"EventDestinations": list(_event_destinations(self).values())})


def _put_event_destination(self: SESV2Response) -> str:
    request = json.loads(self.body)
    name = request.get("EventDestinationName") or self.path.rstrip("/").split("/")[-1]
    _event_destinations(self)[name] = {"Name": name, **request["EventDestination"]}
    return "{}"


# moto has no SES event destinations at all: these keep them, as SES would.
_SES_EVENT_DESTINATIONS = {
    "get_configuration_set_event_destinations": _get_event_destinations,
    "create_configuration_set_event_destination": _put_event_destination,
    "update_configuration_set_event_destination": _put_event_destination,
}

_SES_EVENT_DESTINATION_PATHS = (
    "{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations$",
    "{0}/v2/email/configuration-sets/(?P<ConfigurationSetName>[^/]+)/event-destinations/(?P<Name>[^/]+)$",
)


def swagger2_to_openapi3(document: dict[str, Any]) -> dict[str, Any]:
    """Just enough of Swagger 2.0 as OpenAPI 3 for moto's importer: paths,
    methods, responses and API Gateway integrations, which is all it reads."""
    if "swagger" not in document:
        return document
    converted = copy.deepcopy(document)
    del converted["swagger"]
    converted["openapi"] = "3.0.1"
    converted["info"].setdefault("description", converted["info"]["title"])
    components = {
        "schemas": converted.pop("definitions", {}),
        "securitySchemes": converted.pop("securityDefinitions", {}),
    }
    converted["components"] = components
    for key in ("host", "basePath", "schemes", "consumes", "produces"):
        converted.pop(key, None)
    text = json.dumps(converted).replace("#/definitions/", "#/components/schemas/")
    converted = json.loads(text)
    for methods in converted.get("paths", {}).values():
        for method in methods.values():
            if not isinstance(method, dict):
                continue
            for key in ("consumes", "produces"):
                method.pop(key, None)
            for response in method.get("responses", {}).values():
                schema = response.pop("schema", None)
                if schema is not None:
                    response["content"] = {"application/json": {"schema": schema}}
    return converted


def _accepting_swagger2(position: int):
    """Wrap a backend method whose argument at `position` is the API document."""

    def wrap(original):
        def method(self, *args, **kwargs):
            args = list(args)
            args[position] = swagger2_to_openapi3(args[position])
            return original(self, *args, **kwargs)

        return method

    return wrap


# CloudFront's cache and origin request policies, kept beside moto's backend:
# create, list, get the config, update (IfMatch the last ETag).
_POLICY_KINDS = {"cache-policy": "CachePolicy", "origin-request-policy": "OriginRequestPolicy"}


def _policies(self: CloudFrontResponse, title: str) -> dict[str, dict]:
    store = vars(self.backend).setdefault("nlc_policies", {})
    return store.setdefault(title, {})


def _policy_methods(title: str) -> dict[str, Any]:
    config_key = f"{title}Config"

    def create(self: CloudFrontResponse) -> ActionResult:
        policy = {
            "Id": f"{title[:2].lower()}{len(_policies(self, title)) + 1:06d}",
            "LastModifiedTime": "2026-01-01T00:00:00Z",
            config_key: self._get_param(config_key),
        }
        _policies(self, title)[policy["Id"]] = policy
        return ActionResult({title: policy, "ETag": "E1", "Location": policy["Id"]})

    def listed(self: CloudFrontResponse) -> ActionResult:
        items = [{"Type": "custom", title: policy} for policy in _policies(self, title).values()]
        return ActionResult({f"{title}List": {"MaxItems": 100, "Quantity": len(items), "Items": items}})

    def config(self: CloudFrontResponse) -> ActionResult:
        policy = _policies(self, title)[self._get_param("Id")]
        return ActionResult({config_key: policy[config_key], "ETag": f"E{policy.get('version', 1)}"})

    def update(self: CloudFrontResponse) -> ActionResult:
        policy = _policies(self, title)[self._get_param("Id")]
        assert self._get_param("IfMatch") == f"E{policy.get('version', 1)}"
        policy.update({config_key: self._get_param(config_key), "version": policy.get("version", 1) + 1})
        return ActionResult({title: policy, "ETag": f"E{policy['version']}"})

    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in title).lstrip("_")
    return {
        f"create_{snake}": create,
        f"list_{snake.replace('policy', 'policies')}": listed,
        f"get_{snake}_config": config,
        f"update_{snake}": update,
    }


_CLOUDFRONT_POLICY_METHODS = {
    name: method for title in _POLICY_KINDS.values() for name, method in _policy_methods(title).items()
}
_CLOUDFRONT_POLICY_PATHS = tuple(
    path
    for kind in _POLICY_KINDS
    for path in (
        f"{{0}}/2020-05-31/{kind}$",
        f"{{0}}/2020-05-31/{kind}/(?P<Id>[^/]+)$",
        f"{{0}}/2020-05-31/{kind}/(?P<Id>[^/]+)/config$",
    )
)


def _add_client_id_to_open_id_connect_provider(self: IamResponse) -> EmptyResult:
    provider = self.backend.get_open_id_connect_provider(self._get_param("OpenIDConnectProviderArn"))
    if self._get_param("ClientID") not in provider.client_id_list:
        provider.client_id_list.append(self._get_param("ClientID"))
    return EmptyResult()


@contextlib.contextmanager
def moto_gaps_filled() -> Iterator[None]:
    patches = [
        (S3Response, "get_bucket_notification", _with_eventbridge),
        (APIGatewayBackend, "import_rest_api", _accepting_swagger2(0)),
        (APIGatewayBackend, "put_rest_api", _accepting_swagger2(1)),
    ]
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, wrap in patches:
            setattr(owner, name, wrap(getattr(owner, name)))
        for name, method in _SES_EVENT_DESTINATIONS.items():
            setattr(SESV2Response, name, method)
        # moto's server routes only the paths its services list.
        sesv2_urls.url_paths.update(dict.fromkeys(_SES_EVENT_DESTINATION_PATHS, SESV2Response.dispatch))
        for name, method in _CLOUDFRONT_POLICY_METHODS.items():
            setattr(CloudFrontResponse, name, method)
        cloudfront_urls.url_paths.update(dict.fromkeys(_CLOUDFRONT_POLICY_PATHS, CloudFrontResponse.dispatch))
        IamResponse.add_client_id_to_open_id_connect_provider = _add_client_id_to_open_id_connect_provider
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
        for name in _SES_EVENT_DESTINATIONS:
            delattr(SESV2Response, name)
        for path in _SES_EVENT_DESTINATION_PATHS:
            sesv2_urls.url_paths.pop(path, None)
        for name in _CLOUDFRONT_POLICY_METHODS:
            delattr(CloudFrontResponse, name)
        for path in _CLOUDFRONT_POLICY_PATHS:
            cloudfront_urls.url_paths.pop(path, None)
        del IamResponse.add_client_id_to_open_id_connect_provider


@contextlib.contextmanager
def running_emulator() -> Iterator[str]:
    """The local stack's emulator (moto's server on loopback, a free port)
    with moto's gaps filled; yields its URL."""
    with moto_gaps_filled():
        endpoint, stop = start_emulator()
        try:
            yield endpoint
        finally:
            stop()


def emulator_environment(endpoint: str, base: dict[str, str]) -> dict[str, str]:
    """A subprocess environment that reaches the emulator and nothing else."""
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(("AWS_", "NLC_")) and name != "PYTHONPATH"
    }
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="eu-west-2",
    )
    return env
