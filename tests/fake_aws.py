"""The tests' AWS: moto in this process, behind handlers on botocore's
events (as each call starts, as it is about to be sent and as its answer
comes) that record every call, inject faults, keep the emails SES was given
and apply DynamoDB's transaction tokens as DynamoDB does. The emulator is
provisioned once per run; before each test moto is put back to that state
from a snapshot instead of being provisioned again.
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
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.handlers import BUILTIN_HANDLERS
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


def client_error(code: str, operation: str = "SendEmail", status: int | None = None) -> ClientError:
    """An error AWS answered with; with a status, as AWS gives one (a 5xx
    leaves the outcome unknown)."""
    response: dict[str, Any] = {"Error": {"Code": code, "Message": f"{code} (injected)"}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    return ClientError(response, operation)


def read_timeout(service: str = "email") -> ReadTimeoutError:
    """A call whose answer never came (no `.response`): AWS may have done
    what was asked."""
    return ReadTimeoutError(endpoint_url=f"https://{service}.eu-west-2.amazonaws.com/")


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
        fault = Fault(error or read_timeout(), operation, service, when, times, lost_answer)
        self.faults.append(fault)
        return fault

    def heal(self, fault: Fault) -> None:
        self.faults.remove(fault)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Take this test's calls (until the test ends)."""
        monkeypatch.setattr(Interception, "fake", self)

    def started(self, call: Call) -> Fault | None:
        """A call starts: record it, run the hooks and raise its fault, unless
        the fault is a lost answer (returned, to raise once AWS has acted)."""
        self.calls.append(call)
        self.touched = True
        for hook in list(self.before_call):
            hook(call)
        fault = self._fault_for(call)
        if fault is not None and not fault.lost_answer:
            raise fault.error
        return fault

    def sending(self, call: Call) -> tuple[int, dict[str, Any]] | None:
        """The call is about to reach moto: from here until `answered` or
        `unanswered` no other call does, so that each is atomic as AWS makes
        it (a conditional write above all). A transaction DynamoDB would not
        carry out again gets its answer here, as (status, answer)."""
        self.one_at_a_time.acquire()
        try:
            return self._replayed_transaction(call)
        except BaseException:
            self.one_at_a_time.release()
            raise

    def unanswered(self) -> None:
        """The call never got an answer (botocore raised)."""
        self.one_at_a_time.release()

    def answered(self, call: Call, region: str, answer: dict[str, Any] | None, fault: Fault | None) -> None:
        """The call's answer came: `answer` if AWS did what it asked (amended
        in place as DynamoDB gives it), None if AWS refused or did nothing new."""
        try:
            if answer is None:
                return
            if call == ("DynamoDB", "TransactWriteItems") and "ClientRequestToken" in call.params:
                self.tokens[call.params["ClientRequestToken"]] = (clock.now(), call.params)
                answer["ConsumedCapacity"] = answer.get("ConsumedCapacity") or _write_capacity(call.params)
            if call == ("SESv2", "SendEmail"):
                self.outbox.append(_email_as_sent(region, call.params))
        finally:
            self.one_at_a_time.release()
        for after in list(self.after_call):
            after(call, answer)
        if fault is not None:
            raise fault.error

    def _fault_for(self, call: Call) -> Fault | None:
        if call[1] in self.failing:
            return Fault(self.failing[call[1]])
        return next((fault for fault in self.faults if fault.takes(call)), None)

    def _replayed_transaction(self, call: Call) -> tuple[int, dict[str, Any]] | None:
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
            return 400, {
                "Error": {"Code": "IdempotentParameterMismatchException", "Message": "token reused"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
        answer: dict[str, Any] = {"ResponseMetadata": {"HTTPStatusCode": 200}}
        if call.params.get("ReturnConsumedCapacity", "NONE") != "NONE":
            answer["ConsumedCapacity"] = [
                {"TableName": name, "CapacityUnits": units, "ReadCapacityUnits": units}
                for name, units in _units_by_table(call.params).items()
            ]
        return 200, answer


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


class Interception:
    """botocore's events for every client of every session, as moto hooks in
    its own: the parameters as our code gave them, before botocore checks
    them, the request about to be sent, then the answer (or its absence).
    The running test's fake (if any) sees them."""

    fake: FakeAws | None = None

    @classmethod
    def started(cls, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if cls.fake is not None:
            call = Call(model.service_model.service_id, model.name, params)
            context["fake_aws"] = (cls.fake, call, cls.fake.started(call))

    @classmethod
    def sending(cls, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        """A non-None return is botocore's answer, and no request is made."""
        if "fake_aws" not in context:
            return None
        fake, call, _fault = context["fake_aws"]
        replayed = fake.sending(call)
        context["fake_aws_sent"] = True
        if replayed is None:
            return None
        status, answer = replayed
        context["fake_aws_replayed"] = True
        return AWSResponse(url="", status_code=status, headers={}, raw=None), answer

    @classmethod
    def answered(cls, http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if context.pop("fake_aws_sent", False):
            fake, call, fault = context["fake_aws"]
            carried_out = http_response.status_code < 300 and not context.get("fake_aws_replayed")
            fake.answered(call, context["client_region"], parsed if carried_out else None, fault)

    @classmethod
    def unanswered(cls, context: dict[str, Any], **_: Any) -> None:
        if context.pop("fake_aws_sent", False):
            context["fake_aws"][0].unanswered()


# Every session made from here on calls them (the project's one is made later).
BUILTIN_HANDLERS.extend(
    [
        ("provide-client-params", Interception.started),
        ("before-call", Interception.sending),
        ("after-call", Interception.answered),
        ("after-call-error", Interception.unanswered),
    ]
)


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
