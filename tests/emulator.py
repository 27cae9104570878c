"""The AWS emulator as the deploy and provisioning tests use it: moto's server
on a free loopback port, with two gaps in moto filled on moto's side (the app
is never changed to suit the emulator):

- moto stores a bucket's EventBridge notification but leaves it out of
  GetBucketNotificationConfiguration, which real S3 returns;
- moto imports REST APIs only as OpenAPI 3, while Chalice deploys Swagger 2.0.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
from collections.abc import Iterator
from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.s3.responses import S3Response
from moto.server import ThreadedMotoServer


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
        yield
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)


@contextlib.contextmanager
def running_emulator() -> Iterator[str]:
    """moto's server on 127.0.0.1 and a free port; yields its URL."""
    # Its per-request log would bury the commands' own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with moto_gaps_filled():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


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
