"""One publish at a time per stage: a lease in the content table, taken by
`nlc-api publish`, the bucket indexer, the schedule and POST /admin/publish
alike.

Taking it is a conditional write: it must be free, expired, or held by a
process on this machine that has died (a publish killed part-way). While it
works, a holder renews the lease from a thread every RENEW_SECONDS, so a
holder that dies anywhere is known within LEASE_SECONDS. A second publish
waits a bounded time, then stops naming the holder and when its lease runs
out. The indexer and the schedule do not wait: they mark the lease dirty,
and the holder indexes the bucket again before it lets go, so no upload is
left unindexed.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ... import aws, clock
from ...errors import Conflict, Unavailable
from ...tables import content_table

# A holder that stops renewing (killed, its machine gone, a function timed
# out) is known within a minute; renewing three times a minute lets two
# renewals fail before the lease runs out.
LEASE_SECONDS = 60
RENEW_SECONDS = 20
FIRST_PAUSE_SECONDS = 0.25
LONGEST_PAUSE_SECONDS = 5.0


class PublishBusy(Conflict):
    """Another publish holds the lease."""

    code = "publish_in_progress"


class LeaseLost(Unavailable):
    """The lease expired and another publish took it: stop writing."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=5)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _machine() -> str:
    """This machine: its host name and, where Linux says it, this boot's id,
    so two machines (or Lambda environments) with one host name differ."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/{boot}"


def process_name(pid: int) -> str:
    """How the lease names a process on this machine."""
    return f"{_machine()}:{pid}"


def _has_died(process: str) -> bool:
    """Whether `process` (see process_name) ran on this machine and no longer runs."""
    machine, _, pid = process.rpartition(":")
    if machine != _machine() or not pid.isdigit():
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


def stopped(stored: dict) -> str | None:
    """Why the lease's holder is known to have stopped (its lease expired,
    or its process on this machine ended); None while it may be running."""
    expires = content_table.lease_expiry(stored)
    if expires is not None and expires < clock.now():
        return f"its lease expired at {_iso(expires)}"
    if _has_died(content_table.text_attribute(stored, "process") or ""):
        return "its process on this machine has ended"
    return None


def runs_to(stored: dict) -> str:
    expires = content_table.lease_expiry(stored)
    return _iso(expires) if expires is not None else "an unknown time"


@dataclass
class Lease:
    owner: str
    holder: str
    # Taken over from a holder that stopped part-way: the table may hold a
    # mix of two sets, whatever the bucket holds.
    inherited: bool = False

    def renew(self) -> None:
        if not content_table.renew_lease(self.owner, int(clock.now()) + LEASE_SECONDS):
            raise LeaseLost("another publish took over the publishing lease; publish again")

    def keep_alive(self, stopping: threading.Event) -> None:
        """Renew the lease every RENEW_SECONDS until `stopping` is set or
        the lease is lost (the holder's next renewal between steps says so)."""
        while not stopping.wait(RENEW_SECONDS):
            try:
                self.renew()
            except LeaseLost:
                return
            except aws.errors():
                continue  # one failed renewal of three a minute leaves time for the next

    @contextmanager
    def kept_alive(self) -> Iterator[None]:
        stopping = threading.Event()
        renewing = threading.Thread(
            target=self.keep_alive, args=(stopping,), name="publishing lease", daemon=True
        )
        renewing.start()
        try:
            yield
        finally:
            stopping.set()
            renewing.join()

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
    before = content_table.take_lease(
        owner, holder, process_name(os.getpid()), _iso(now), int(now) + LEASE_SECONDS, int(now), stale
    )
    return None if before is None else Lease(owner, holder, inherited="owner" in before)


def _take_once(holder: str) -> tuple[Lease | None, dict]:
    """The lease if it is free, expired or left by a process on this machine
    that died; else None and the lease as it stands."""
    lease = _try(holder)
    if lease:
        return lease, {}
    current = content_table.lease() or {}
    if _has_died(content_table.text_attribute(current, "process") or ""):
        return _try(holder, stale=content_table.text_attribute(current, "owner") or ""), current
    return None, current


def take(holder: str, wait_seconds: float) -> Lease:
    """The lease, waiting up to `wait_seconds` with backoff; PublishBusy
    naming the holder and when its lease runs out if it stays taken."""
    deadline = clock.now() + wait_seconds
    pause = FIRST_PAUSE_SECONDS
    while True:
        lease, current = _take_once(holder)
        if lease:
            return lease
        remaining = deadline - clock.now()
        if remaining <= 0:
            raise PublishBusy(
                f"Another publish is running: {describe(current)}; it holds the lease until "
                f"{runs_to(current)} unless it renews it (every {RENEW_SECONDS} s while it runs). "
                "Try again when it ends."
            )
        # Try again as soon as the lease runs out: a dead holder's successor
        # starts then, not up to a pause later.
        expires = content_table.lease_expiry(current)
        until_free = expires + 1 - clock.now() if expires is not None else pause
        clock.sleep(min(pause, remaining, max(until_free, FIRST_PAUSE_SECONDS)))
        pause = min(pause * 2, LONGEST_PAUSE_SECONDS)


def take_or_mark(holder: str) -> Lease | None:
    """The lease if it is free (or its holder is known to have died); if it
    is held, mark it dirty (the holder indexes the bucket again) and return None."""
    for _ in range(3):  # the lease may change hands between the two writes
        lease, _current = _take_once(holder)
        if lease:
            return lease
        if content_table.mark_lease_dirty(int(clock.now())):
            return None
    raise PublishBusy("The publishing lease keeps changing hands; try again.")
