"""A circuit breaker for the backend, so a dead backend costs no time on every invocation. Pure: the clock is
passed in.

States: ``closed`` (send), ``open`` (refuse until ``open_s`` has passed), ``half-open`` (one probe; success
closes, failure re-opens with the open time doubled up to ``max_open_s``).
"""

from __future__ import annotations

from typing import Literal

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(self, failures_to_open: int, open_s: float, max_open_s: float) -> None:
        self.failures_to_open = failures_to_open
        self.base_open_s = open_s
        self.max_open_s = max(open_s, max_open_s)
        self._open_s = open_s
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self.trips = 0

    def state(self, now: float) -> State:
        if self._opened_at is None:
            return "closed"
        if now - self._opened_at >= self._open_s:
            return "half-open"
        return "open"

    def allow(self, now: float) -> bool:
        """May a send start now? In half-open only one probe at a time is allowed."""
        state = self.state(now)
        if state == "closed":
            return True
        if state == "half-open" and not self._probing:
            self._probing = True
            return True
        return False

    @property
    def probing(self) -> bool:
        """A probe was allowed and its result is not in yet."""
        return self._probing

    def expedite(self, now: float) -> None:
        """Let a probe through now (the sandbox ran again after a long pause); a failing probe still doubles
        the open time."""
        if self._opened_at is not None and not self._probing:
            self._opened_at = min(self._opened_at, now - self._open_s)

    def cancel_probe(self) -> None:
        """The probe allowed by ``allow`` did not happen (nothing to send)."""
        self._probing = False

    def retry_in(self, now: float) -> float:
        """Seconds until the breaker lets a probe through (0 when it would now)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self._open_s - now)

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False
        self._open_s = self.base_open_s

    def record_failure(self, now: float) -> None:
        self._failures += 1
        if self._probing:
            self._probing = False
            self._open_s = min(self.max_open_s, self._open_s * 2)
            self._opened_at = now
            self.trips += 1
        elif self._opened_at is None and self._failures >= self.failures_to_open:
            self._opened_at = now
            self.trips += 1

    def force_open(self, now: float, seconds: float) -> None:
        """Open for at least ``seconds`` (a ``Retry-After`` from the backend)."""
        self._opened_at = now
        self._open_s = max(seconds, self.base_open_s)
        self._probing = False
        self.trips += 1
