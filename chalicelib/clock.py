"""The one clock domain code reads (and waits on), so tests can move time
on and every claim and deadline is taken at the moment it is written."""

from __future__ import annotations

import time


def now() -> float:
    return time.time()


def sleep(seconds: float) -> None:
    time.sleep(seconds)
