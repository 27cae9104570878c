"""Lambda SnapStart, which the prod stack gives the API handler and the
delivery worker (nlc_tools/cloudformation.py): Lambda runs a new version's
init once, snapshots the environment's memory, and starts each new
environment from that snapshot instead of from nothing.

One code path right for both kinds of start. Imports stay lazy, as a plain
cold start wants them (a form post loads no content reads, a content read no
pydantic); only before a snapshot does `prime` load what visitors' requests
and the delivery worker use, and build both forms' models, so that every
environment restored from it has them at no cost.

Every environment restored from one snapshot starts with the same memory, so
nothing made before it may be unique or fresh. `random` is one state
(botocore draws its retry jitter from it): reseeded after each restore.
Tokens come from `secrets` (the kernel's generator, fresh in each
environment), the clock is read per request, and AWS clients, with the
credentials they read, are made on the first request, never before the
snapshot.
"""

from __future__ import annotations

import random

try:
    import snapshot_restore_py
except ImportError:  # a Python without Lambda's runtime hooks: nothing is ever snapshotted
    snapshot_restore_py = None


def prime() -> None:
    """Load and build, before the snapshot, what the requests will use."""
    import email_validator  # noqa: F401  (its expressions compile on import)

    from .submissions import delivery, fields, intake, mail_events  # noqa: F401
    from .web import content_api

    content_api._reads()
    for form in fields.FORMS.values():
        form.model_rebuild()


def reseed() -> None:
    """Give this environment a `random` state of its own."""
    random.seed()


def register() -> None:
    if snapshot_restore_py is not None:
        snapshot_restore_py.register_before_snapshot(prime)
        snapshot_restore_py.register_after_restore(reseed)
