"""One publish at a time per stage: a lease in the content table, taken by
`nlc-api publish`, the bucket indexer and POST /admin/publish alike.

Taking it is a conditional write: it must be free, expired, or held by a
process on this machine that has died (a publish killed part-way). A second
publish waits a bounded time, then stops naming the holder. The indexer does
not wait: it marks the lease dirty, and the holder indexes the bucket again
before it lets go, so no upload is left unindexed.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from ... import clock
from ...errors import Conflict, Unavailable
from ...tables import content_table

# Longer than the indexing function's timeout (300 s), so a function that
# timed out frees the lease soon after; a holder renews it between steps.
LEASE_SECONDS = 360
FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 5.0


class PublishBusy(Conflict):
    """Another publish holds the lease."""

    code = "publish_in_progress"


class LeaseLost(Unavailable):
    """The lease expired and another publish took it: stop writing."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=5)


def _pause(seconds: float) -> None:
    time.sleep(seconds)  # tests replace this to move the clock instead


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _has_died(process: str) -> bool:
    """Whether `host:pid` is a process on this machine that no longer runs."""
    host, _, pid = process.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def describe(stored: dict) -> str:
    """Who holds the lease and since when, as a message says it."""
    holder = content_table.text_attribute(stored, "holder") or "another publish"
    since = content_table.text_attribute(stored, "since") or "an unknown time"
    return f"{holder}, since {since}"


@dataclass
class Lease:
    owner: str
    holder: str

    def renew(self) -> None:
        if not content_table.renew_lease(self.owner, int(clock.now()) + LEASE_SECONDS):
            raise LeaseLost("another publish took over the publishing lease; publish again")

    def let_go(self) -> bool:
        """Release the lease; False if it was marked dirty meanwhile: the
        mark is cleared and the caller indexes the bucket again."""
        if content_table.release_lease(self.owner):
            return True
        if content_table.clear_lease_dirty(self.owner):
            return False
        raise LeaseLost("another publish took over the publishing lease; publish again")

    def abandon(self) -> None:
        content_table.abandon_lease(self.owner)


def _try(holder: str, stale: str = "") -> Lease | None:
    owner = uuid.uuid4().hex
    now = clock.now()
    taken = content_table.take_lease(
        owner, holder, _this_process(), _iso(now), int(now) + LEASE_SECONDS, int(now), stale
    )
    return Lease(owner, holder) if taken else None


def take(holder: str, wait_seconds: float) -> Lease:
    """The lease, waiting up to `wait_seconds` with backoff; PublishBusy
    naming the holder if it stays taken."""
    deadline = clock.now() + wait_seconds
    pause = FIRST_PAUSE_SECONDS
    while True:
        lease = _try(holder)
        if lease:
            return lease
        current = content_table.lease() or {}
        process = content_table.text_attribute(current, "process") or ""
        if _has_died(process):
            lease = _try(holder, stale=content_table.text_attribute(current, "owner") or "")
            if lease:
                return lease
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise PublishBusy(f"Another publish is running: {describe(current)}. Try again when it ends.")
        _pause(min(pause, remaining))
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


def take_or_mark(holder: str) -> Lease | None:
    """The lease if it is free; if it is held, mark it dirty (the holder
    indexes the bucket again) and return None."""
    for _ in range(3):  # the lease may change hands between the two writes
        lease = _try(holder)
        if lease:
            return lease
        if content_table.mark_lease_dirty(int(clock.now())):
            return None
    raise PublishBusy("The publishing lease keeps changing hands; try again.")
