"""The local stack's emulator for benchmarks: moto's server on loopback,
the local stage provisioned and the seed content published."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

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
    spent waiting for each operation."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.seconds: dict[str, float] = {}

    def __enter__(self) -> CallCounter:
        from botocore.client import BaseClient

        self._original = BaseClient._make_api_call
        counter = self

        def counting(client, operation, params):
            counter.calls.append(operation)
            begun = time.perf_counter()
            try:
                return counter._original(client, operation, params)
            finally:
                spent = time.perf_counter() - begun
                counter.seconds[operation] = counter.seconds.get(operation, 0.0) + spent

        BaseClient._make_api_call = counting
        return self

    def __exit__(self, *exc) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original
