"""When to try sending again, and for how long one sender may hold a
submission. Pure: every answer is computed from the time it is given."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    # Waits after each failed attempt: quick at first for a blip, then spread
    # over about two days for an outage. After the last, the status is `failed`.
    delays: tuple[int, ...] = (60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600)
    # A claim outlives any one delivery (two sends and a write, each bounded
    # by the clients' timeouts), so only a sender that died leaves one to expire.
    claim_seconds: int = 300

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def gives_up(self, attempts: int) -> bool:
        return attempts >= self.max_attempts

    def next_attempt_at(self, attempts: int, now: float) -> int:
        """When to try again after `attempts` failed ones (gives_up is false)."""
        return int(now) + self.delays[attempts - 1]

    def claim_expires_at(self, now: float) -> int:
        return int(now) + self.claim_seconds


POLICY = RetryPolicy()
