"""The tests' AWS: moto in this process, behind one patch of botocore's API
call that records every call, injects faults, keeps the emails SES was
given and applies DynamoDB's transaction tokens as DynamoDB does. The emulator is provisioned once per run; before each test moto is
put back to that state from a snapshot instead of being provisioned again.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.base_backend import BackendDict
from moto.core.model_instances import reset_model_data
from moto.ses.models import ses_backends

from chalicelib import clock
from chalicelib.settings import get_settings


class Call(tuple[str, str]):
    """One API call. It compares as (service, operation), as `aws_calls`
    always listed them; `params` is the request our code made."""

    params: dict[str, Any]

    def __new__(cls, service: str, operation: str, params: dict[str, Any]) -> Call:
        call = super().__new__(cls, (service, operation))
        call.params = params
        return call


def lost_answer_error() -> ReadTimeoutError:
    """What botocore raises when AWS's answer never arrives: no `.response`."""
    return ReadTimeoutError(endpoint_url="https://email.eu-west-2.amazonaws.com/")


@dataclass
class Fault:
    """Calls that fail: of `operation` and `service` (None: any) whose
    parameters satisfy `when`; only the next `times` of them, if given. A
    lost answer is a call AWS carries out whose caller gets the error."""

    error: BaseException
    operation: str | None = None
    service: str | None = None
    when: Callable[[dict[str, Any]], bool] | None = None
    times: int | None = None
    lost_answer: bool = False

    def takes(self, call: Call) -> bool:
        service, operation = call
        if self.times == 0 or self.operation not in (None, operation) or self.service not in (None, service):
            return False
        if self.when is not None and not self.when(call.params):
            return False
        if self.times is not None:
            self.times -= 1
        return True


class FakeAws:
    """What one test's AWS calls did and will do. `calls`, `failing` and
    `outbox` are the `aws_calls`, `aws_faults` and `outbox` fixtures."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        # Every call of the operation raises the error until it is deleted.
        self.failing: dict[str, BaseException] = {}
        self.faults: list[Fault] = []
        self.outbox: list[dict[str, Any]] = []
        # Run as each call starts, before any fault: (call) -> None.
        self.before_call: list[Callable[[Call], None]] = []
        # Run once AWS has carried a call out, even if its answer is then
        # lost: (call, response) -> None.
        self.after_call: list[Callable[[Call, dict[str, Any]], None]] = []
        # Whether moto may hold anything since the last snapshot was put back.
        self.touched = False
        # DynamoDB's transaction tokens: when each was applied, and with what.
        self.tokens: dict[str, tuple[float, dict[str, Any]]] = {}
        # One call at a time reaches moto, so that each is atomic as AWS
        # makes it (a conditional write above all) when tests run senders
        # in threads; hooks run outside it.
        self.one_at_a_time = threading.Lock()

    def fail(
        self,
        operation: str | None = None,
        error: BaseException | None = None,
        *,
        service: str | None = None,
        when: Callable[[dict[str, Any]], bool] | None = None,
        times: int | None = None,
        lost_answer: bool = False,
    ) -> Fault:
        """Make calls fail (by default with a lost answer's timeout); returns
        the fault, for `heal`."""
        fault = Fault(error or lost_answer_error(), operation, service, when, times, lost_answer)
        self.faults.append(fault)
        return fault

    def heal(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        make_api_call = BaseClient._make_api_call

        def call_aws(client: Any, operation: str, params: dict[str, Any]) -> Any:
            return self._call(make_api_call, client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", call_aws)

    def _call(self, make_api_call: Callable, client: Any, operation: str, params: dict[str, Any]) -> Any:
        call = Call(client.meta.service_model.service_id, operation, params)
        self.calls.append(call)
        self.touched = True
        for hook in list(self.before_call):
            hook(call)
        fault = self._fault_for(call)
        if fault is not None and not fault.lost_answer:
            raise fault.error
        with self.one_at_a_time:
            replayed = self._replayed_transaction(client, call)
            if replayed is not None:
                return replayed
            response = make_api_call(client, operation, params)
        if call == ("DynamoDB", "TransactWriteItems") and "ClientRequestToken" in params:
            self.tokens[params["ClientRequestToken"]] = (clock.now(), params)
            response["ConsumedCapacity"] = response.get("ConsumedCapacity") or _write_capacity(params)
        if call == ("SESv2", "SendEmail"):
            self.outbox.append(_email_as_sent(client.meta.region_name, params))
        for after in list(self.after_call):
            after(call, response)
        if fault is not None:
            raise fault.error
        return response

    def _fault_for(self, call: Call) -> Fault | None:
        if call[1] in self.failing:
            return Fault(self.failing[call[1]])
        return next((fault for fault in self.faults if fault.takes(call)), None)

    def _replayed_transaction(self, client: Any, call: Call) -> dict[str, Any] | None:
        """DynamoDB's answer to a transaction whose ClientRequestToken it
        applied within the last ten minutes (moto ignores tokens): the same
        arguments succeed, reading but writing nothing; others are refused.
        None for a transaction to carry out."""
        token = call.params.get("ClientRequestToken")
        if call != ("DynamoDB", "TransactWriteItems") or token not in self.tokens:
            return None
        applied_at, params = self.tokens[token]
        if clock.now() - applied_at >= TOKEN_SECONDS:
            return None
        if params != call.params:
            raise client.exceptions.from_code("IdempotentParameterMismatchException")(
                {
                    "Error": {"Code": "IdempotentParameterMismatchException", "Message": "token reused"},
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "TransactWriteItems",
            )
        answer: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if call.params.get("ReturnConsumedCapacity", "NONE") != "NONE":
            answer["ConsumedCapacity"] = [
                {"TableName": name, "CapacityUnits": units, "ReadCapacityUnits": units}
                for name, units in _units_by_table(call.params).items()
            ]
        return answer


# DynamoDB applies a transaction once for the same token within this long.
TOKEN_SECONDS = 600


def _units_by_table(params: dict[str, Any]) -> dict[str, float]:
    """Two units for each item of a transaction, by table (DynamoDB's price of a transactional write)."""
    units: dict[str, float] = {}
    for item in params["TransactItems"]:
        for request in item.values():
            units[request["TableName"]] = units.get(request["TableName"], 0.0) + 2.0
    return units


def _write_capacity(params: dict[str, Any]) -> list[dict[str, Any]]:
    """What DynamoDB says an applied transaction consumed, when asked (moto says nothing)."""
    if params.get("ReturnConsumedCapacity", "NONE") == "NONE":
        return []
    return [
        {"TableName": name, "CapacityUnits": units, "WriteCapacityUnits": units}
        for name, units in _units_by_table(params).items()
    ]


def _email_as_sent(region: str, params: dict[str, Any]) -> dict[str, Any]:
    """The email as our code sent it (moto records no Reply-To), checked
    against moto's own record of the message."""
    recorded = ses_backends[DEFAULT_ACCOUNT_ID][region].sent_messages[-1]
    simple = params["Content"]["Simple"]
    email = {
        "from": params["FromEmailAddress"],
        "to": params["Destination"]["ToAddresses"],
        "destination": params["Destination"],
        "reply_to": params.get("ReplyToAddresses"),
        "subject": simple["Subject"]["Data"],
        "text": simple["Body"]["Text"]["Data"],
        "html": simple["Body"].get("Html"),
    }
    assert (recorded.source, recorded.destinations, recorded.subject, recorded.body) == (
        email["from"],
        email["destination"],
        email["subject"],
        email["text"],
    )
    return email


# Snapshots -----------------------------------------------------------------------

# What every BackendDict has; anything else on one (S3's map of bucket names
# to accounts) is service state and goes in the snapshot.
_BACKEND_DICT_ATTRIBUTES = {"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"}


@dataclass(frozen=True)
class _Snapshot:
    services: list[BackendDict]
    state: bytes  # pickled: each service's own attributes and backends by account and region


class _Pickler(pickle.Pickler):
    """Locks (an SQS queue holds one) are not state: a copy gets a new one."""

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, _LOCK_TYPES):
            return type(obj), ()
        return NotImplemented


_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _take_snapshot() -> _Snapshot:
    services = list(BackendDict._instances)
    state = [
        (
            {name: value for name, value in vars(service).items() if name not in _BACKEND_DICT_ATTRIBUTES},
            {account: dict(regions) for account, regions in service.items()},
        )
        for service in services
    ]
    # One pickle, so that objects shared between backends stay shared.
    buffer = io.BytesIO()
    _Pickler(buffer, pickle.HIGHEST_PROTOCOL).dump(state)
    return _Snapshot(services, buffer.getvalue())


def _wipe() -> None:
    """moto's own reset of every service, and of its record of model objects."""
    BackendDict.reset()
    reset_model_data()


def _restore(snapshot: _Snapshot) -> None:
    _wipe()
    for service, (attributes, accounts) in zip(snapshot.services, pickle.loads(snapshot.state), strict=True):
        vars(service).update(attributes)
        for account, regions in accounts.items():
            for region, backend in regions.items():
                dict.__setitem__(service[account], region, backend)


class Emulator:
    """moto for the whole run. Each test starts from a named state (the
    stage provisioned, then perhaps the seed content published): the first
    test to reach a state builds it through the front door and snapshots
    moto; later tests get a copy of that snapshot, in milliseconds.

    moto stays on from one test to the next, and is turned off, emptied, for
    a test that does not use it: such a test may start a moto of its own (the
    provisioning and deploy tests do), which must find nothing of ours."""

    def __init__(self) -> None:
        self._snapshots: dict[tuple, _Snapshot] = {}
        self._state: tuple = ()
        # The tests' own fixture sets the credentials, so moto leaves them be.
        self._mock = mock_aws(config={"core": {"mock_credentials": False}})
        self._on = False
        self.fake = FakeAws()

    def test(self, monkeypatch: pytest.MonkeyPatch, provision: Callable[[], object]) -> FakeAws:
        """moto for one test, holding what `provision` leaves and nothing else."""
        if not self._on:
            self._mock.start()
            self._on = True
        self.fake = FakeAws()
        self._state = ()
        _wipe()
        self.reach("provisioned", provision)
        self.fake.install(monkeypatch)
        return self.fake

    def off(self) -> None:
        """moto off and empty, as if never started."""
        if self._on:
            self._mock.stop()
            self._on = False

    def reach(self, step: str, build: Callable[[], object]) -> None:
        """Take the current state a step further: from a snapshot if this
        step was taken from this state with these settings before, else by
        `build` (whose result is snapshotted). Once the test has called AWS
        itself no snapshot fits, and `build` runs."""
        if self.fake.touched:
            build()
            return
        key = (self._state, step, get_settings(), os.environ.get("AWS_DEFAULT_REGION"))
        if key in self._snapshots:
            _restore(self._snapshots[key])
        else:
            build()
            self._snapshots[key] = _take_snapshot()
        self._state = key
        self.fake.touched = False
