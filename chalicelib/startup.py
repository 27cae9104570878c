"""How a function's environment starts, from nothing (a cold start) or from
a SnapStart snapshot (the prod stack's API handler and delivery worker,
nlc_tools/cloudformation.py), with one code path right for both.

Python's cyclic garbage collector is off from this module's import (app.py
imports it before the app's own modules) until the first event is answered:
a cold start allocates hundreds of thousands of objects that live as long as
the process (modules, classes, the forms' models, botocore's service
models), and each collection on the way walks them all again for nothing
(docs/performance.md has the figures). Once the first event is answered,
what the cold start made is frozen, kept out of every later collection, and
the collector is on again: freezing spares the first collection walking all
of it, at the cost of keeping the cold start's few hundred objects of cyclic
garbage (of about a hundred thousand) for the environment's life.

Imports stay lazy, as a cold start wants them (a form post loads no content
reads, a content read no pydantic). Only before a snapshot does `prime` load
what visitors' requests and the delivery worker use, and build both forms'
models; it then collects, and freezes what is left, so that every
environment restored from the snapshot has it at no cost, nor walks it again.

Every environment restored from one snapshot starts with the same memory, so
nothing made before it may be unique or fresh. `random` is one state
(botocore draws its retry jitter from it): reseeded after each restore.
Tokens come from `secrets` (the kernel's generator, fresh in each
environment), the clock is read per request, and AWS clients, with the
credentials they read, are made on the first request, never before the
snapshot.
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable
from typing import Any

try:
    import snapshot_restore_py
except ImportError:  # a Python without Lambda's runtime hooks: nothing is ever snapshotted
    snapshot_restore_py = None

gc.disable()


def collector_on_once_answered(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Middleware for every kind of event: the collector back on once the
    first is answered (or has failed)."""
    try:
        return get_response(event)
    finally:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()


def prime() -> None:
    """Load, before the snapshot, what the requests will use."""
    import idna  # noqa: F401  (an internationalised domain's address check)

    from .content.read import reads  # noqa: F401
    from .submissions import delivery, intake, mail_events  # noqa: F401
    from .web import content_api  # noqa: F401

    gc.collect()
    gc.freeze()


def reseed() -> None:
    """Give this environment a `random` state of its own."""
    random.seed()


def register(app: Any) -> None:
    app.register_middleware(collector_on_once_answered, "all")
    if snapshot_restore_py is not None:
        snapshot_restore_py.register_before_snapshot(prime)
        snapshot_restore_py.register_after_restore(reseed)
