"""The local stack's emulator for benchmarks: moto's server on loopback,
the local stage provisioned and the seed content published."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from chalicelib import aws
from chalicelib.settings import apply_stage_environment
from nlc_tools.local import start_emulator, use_emulator


def start(content_dir: Path | None = None) -> str:
    """Start the emulator and fill it; return its URL (stays up until exit)."""
    from chalicelib.content.publishing import publish
    from nlc_tools.provision import provision

    endpoint, _stop = start_emulator()  # up until exit
    use_emulator(endpoint)
    settings = apply_stage_environment("local")
    aws.reset_clients()
    with contextlib.redirect_stdout(io.StringIO()):
        provision(settings)
        if content_dir is not None:
            publish.publish_directory(content_dir)
    return endpoint


def start_on(endpoint: str, provision_stage: bool = False) -> None:
    """Use an emulator already running (in another process), provisioning
    the local stage's resources the first time."""
    from nlc_tools.provision import provision

    use_emulator(endpoint)
    settings = apply_stage_environment("local")
    aws.reset_clients()
    if provision_stage:
        with contextlib.redirect_stdout(io.StringIO()):
            provision(settings)


class CallCounter:
    """Counts AWS API calls made in this process, by operation, and the time
    spent waiting for each operation (retries included), from botocore's
    events for every client (handlers below)."""

    active: CallCounter | None = None

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seconds: dict[str, float] = {}

    def __enter__(self) -> CallCounter:
        CallCounter.active = self
        return self

    def __exit__(self, *exc) -> None:
        CallCounter.active = None

    @classmethod
    def started(cls, model: Any, context: dict[str, Any], **_: Any) -> None:
        if cls.active is not None:
            cls.active.calls.append(model.name)
            context["benchmark_call"] = (cls.active, model.name, time.perf_counter())

    @staticmethod
    def ended(context: dict[str, Any], **_: Any) -> None:
        if "benchmark_call" in context:
            counter, operation, begun = context.pop("benchmark_call")
            spent = time.perf_counter() - begun
            counter.seconds[operation] = counter.seconds.get(operation, 0.0) + spent


# Every session made from here on calls them, as moto hooks in its own (the
# project's session is made on its first call, after this module's import).
BUILTIN_HANDLERS.extend(
    [
        ("provide-client-params", CallCounter.started),
        ("after-call", CallCounter.ended),
        ("after-call-error", CallCounter.ended),
    ]
)
