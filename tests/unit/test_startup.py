"""How a function starts (chalicelib/startup.py): the garbage collector off
through a cold start and on once the first event is answered; and, for
SnapStart, which restores many environments from one snapshot of memory,
nothing that must be unique in each (retry jitter, tokens not derived from
the request) drawn from state made before the snapshot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from chalicelib.settings import PROJECT_DIR

# The app's init and the hooks Lambda runs before a snapshot; then two
# processes forked from that one memory, as two environments restored from
# one snapshot, each running the after-restore hooks and drawing what a
# request would: the delay botocore's standard retries (aws.py's) wait
# before an attempt, and the delivery worker's claim token. Each prints its
# draws. A forked child reseeds `random` (it registers an at-fork hook); a
# restored environment does not, so each child first puts back the state
# the parent had.
RESTORED_TWICE = """
import json, os, random, sys
import snapshot_restore_py
from app import app
from botocore.retries.standard import ExponentialBackoff, RetryContext
from chalicelib.submissions import delivery
from chalicelib.tables import submissions_table

for hook, args, kwargs in snapshot_restore_py.get_before_snapshot():
    hook(*args, **kwargs)
snapshot = random.getstate()
for _ in range(2):
    if os.fork() == 0:
        random.setstate(snapshot)
        for hook, args, kwargs in snapshot_restore_py.get_after_restore():
            hook(*args, **kwargs)
        tokens = []
        submissions_table.claim = lambda reference, **claim: tokens.append(claim["claim"]) or {}
        delivery.claim("NLC-ABC", ("received",), due_only=False)
        jitter = [ExponentialBackoff().delay_amount(RetryContext(attempt_number=n)) for n in (2, 3)]
        print(json.dumps({"jitter": jitter, "token": tokens[0]}), flush=True)
        os._exit(0)
    os.wait()
"""


def test_environments_restored_from_one_snapshot_never_draw_the_same_jitter_or_token():
    run = subprocess.run(
        [sys.executable, "-c", RESTORED_TWICE], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["jitter"] != second["jitter"]
    assert first["token"] != second["token"]


def test_before_a_snapshot_the_requests_modules_are_loaded():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, snapshot_restore_py\n"
            "from app import app\n"
            "for hook, args, kwargs in snapshot_restore_py.get_before_snapshot(): hook(*args, **kwargs)\n"
            "print(json.dumps(sorted(sys.modules)))",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules = json.loads(loaded)
    assert {
        "chalicelib.submissions.forms",
        "chalicelib.submissions.email_address",
        "chalicelib.submissions.intake",
        "chalicelib.submissions.delivery",
    } <= set(modules)
    assert {"chalicelib.content.read.reads", "chalicelib.tables.content_table"} <= set(modules)


# A form post and the delivery worker's batch, each the first event of a new
# process: the collector is off until it is answered, then on.
FIRST_EVENT = """
import gc, json
from app import app, deliver_submissions

off_at_import = not gc.isenabled()
{call}
print(json.dumps([off_at_import, gc.isenabled()]))
"""
FORM_POST = """
event = {"resource": "/enquiries", "path": "/enquiries", "httpMethod": "POST",
         "headers": {"Content-Type": "application/json"}, "multiValueHeaders": {},
         "queryStringParameters": None, "multiValueQueryStringParameters": None, "pathParameters": None,
         "stageVariables": None, "body": "{}", "isBase64Encoded": False,
         "requestContext": {"resourcePath": "/enquiries", "httpMethod": "POST", "stage": "api",
                            "identity": {"sourceIp": "127.0.0.1"}}}
assert app(event, None)["statusCode"] == 400
"""
QUEUE_BATCH = 'deliver_submissions({"Records": []}, None)'


@pytest.mark.parametrize("call", [FORM_POST, QUEUE_BATCH], ids=["form post", "queue batch"])
def test_the_collector_is_off_through_a_cold_start_and_on_once_the_first_event_is_answered(call):
    run = subprocess.run(
        [sys.executable, "-c", FIRST_EVENT.format(call=call)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(run.stdout.splitlines()[-1]) == [True, True]
