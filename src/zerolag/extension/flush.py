"""Flush strategies: when to send, decided from the invocation rhythm. Pure: no I/O, the clock is passed in.

``ZEROLAG_FLUSH`` selects one:

- ``end``: flush everything at the end of each invocation, before ``/event/next`` (billed time, not latency).
- ``periodic,<ms>``: send when ``ms`` have passed since the last flush, in the background while an invocation
  runs, and at its end when the interval has passed (so a quiet function still gets its data out).
- ``continuous``: send in the background whenever the sandbox runs; never hold the end of an invocation.
- ``adaptive`` (default): learns the gaps between invocations. Data always goes out in the background during
  invocations. Nothing is held after the response while the next invocation is likely to come soon
  (predicted gap under ``max_delay`` and under ``FREQUENT_GAP_S``), nor at sparse load as long as waiting
  for the next invocation keeps every datum within ``max_delay``: the longest of the recent gaps plus the
  age of the oldest buffered data is at most ``max_delay`` (what is unsent then leaves at the next thaw, in
  the background). Otherwise (no rhythm known yet, a recent gap too long, stale data, the buffer past its
  high-water mark) it flushes at the end, never spending more than ``min(budget, deadline - margin - now)``.
  The bound and its one exception (a gap longer than every recent one) are in docs/extension.md.

Times are seconds (floats), as given by ``time.monotonic()``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

StrategyName = Literal["end", "periodic", "continuous", "adaptive"]

# A gap below this counts as "the next invocation comes soon": a freeze this short never breaks a keep-alive
# connection, so a send may straddle it.
FREQUENT_GAP_S: Final = 2.0
GAP_WINDOW: Final = 16  # invocations remembered
WARMUP: Final = 3  # gaps needed before adaptive trusts the rhythm
HIGH_WATER: Final = 0.5  # fraction of the memory buffer that forces an end flush


@dataclass(frozen=True)
class FlushStrategy:
    name: StrategyName
    interval_s: float = 0.0

    def __str__(self) -> str:
        return f"periodic,{round(self.interval_s * 1000)}" if self.name == "periodic" else self.name


def parse_flush(raw: str) -> FlushStrategy:
    """Parse ``end | periodic,<ms> | continuous | adaptive``; raises ``ValueError`` with a readable
    message."""
    text = raw.strip().lower()
    if text in ("end", "continuous", "adaptive"):
        return FlushStrategy(text)  # type: ignore[arg-type]
    name, sep, ms = text.partition(",")
    if name == "periodic" and sep:
        try:
            value = int(ms)
        except ValueError:
            raise ValueError(f"periodic interval {ms!r} is not an integer number of ms") from None
        if value <= 0:
            raise ValueError("periodic interval must be > 0 ms")
        return FlushStrategy("periodic", value / 1000.0)
    raise ValueError(f"{raw!r} is not one of end, periodic,<ms>, continuous, adaptive")


@dataclass(frozen=True)
class EndPlan:
    """What to do at the end of an invocation: ``flush_s`` to spend flushing (0 = none) and ``wait_s`` to let
    a send already in flight finish before it is abandoned (0 = let it straddle the freeze).
    """

    flush_s: float
    wait_s: float
    reason: str


@dataclass
class BufferState:
    """What the policy needs to know about the buffer."""

    pending_bytes: int
    capacity_bytes: int
    oldest_age_s: float  # 0 when empty


class FlushPolicy:
    """Decides background sends and end-of-invocation flushes for one strategy."""

    def __init__(self, strategy: FlushStrategy, budget_s: float, margin_s: float, max_delay_s: float) -> None:
        self.strategy = strategy
        self.budget_s = budget_s
        self.margin_s = margin_s
        self.max_delay_s = max_delay_s
        self._gaps: deque[float] = deque(maxlen=GAP_WINDOW)
        self._last_invoke: float | None = None
        self._last_flush: float = 0.0

    # --- observations -------------------------------------------------------------------------------------
    def on_invoke(self, now: float) -> None:
        if self._last_invoke is not None:
            self._gaps.append(now - self._last_invoke)
        self._last_invoke = now

    def on_flushed(self, now: float) -> None:
        self._last_flush = now

    def predicted_gap(self) -> float | None:
        """A pessimistic guess of the next gap (the 75th percentile of the recent ones), None while
        warming up.
        """
        if len(self._gaps) < WARMUP:
            return None
        ordered = sorted(self._gaps)
        return ordered[min(len(ordered) - 1, (len(ordered) * 3) // 4)]

    def longest_gap(self) -> float | None:
        """The longest recent gap, None while warming up."""
        return max(self._gaps) if len(self._gaps) >= WARMUP else None

    def frequent(self) -> bool:
        gap = self.predicted_gap()
        return gap is not None and gap <= min(FREQUENT_GAP_S, self.max_delay_s)

    # --- decisions ----------------------------------------------------------------------------------------
    def background_wait(self, now: float, state: BufferState) -> float:
        """Seconds until the sender may send in the background while an invocation runs (0 = now, inf =
        never).
        """
        if state.pending_bytes <= 0 or self.strategy.name == "end":
            return float("inf")
        if self.strategy.name == "periodic":
            return max(0.0, self.strategy.interval_s - (now - self._last_flush))
        return 0.0

    def end_plan(self, now: float, deadline: float | None, state: BufferState) -> EndPlan:
        """The plan at the end of an invocation (``deadline`` in the same clock, None if unknown)."""
        cap = self.budget_s
        if deadline is not None:
            cap = max(0.0, min(cap, deadline - self.margin_s - now))
        name = self.strategy.name
        if name == "continuous":
            return EndPlan(0.0, 0.0, "continuous")
        if name == "end":
            return EndPlan(cap, cap, "end")
        if name == "periodic":
            due = now - self._last_flush >= self.strategy.interval_s
            return EndPlan(cap, cap, "periodic-due") if due else EndPlan(0.0, 0.0, "periodic-wait")
        return self._adaptive(cap, state)

    def _adaptive(self, cap: float, state: BufferState) -> EndPlan:
        if not self.frequent():
            longest = self.longest_gap()
            if longest is not None and longest + state.oldest_age_s <= self.max_delay_s:
                # Sparse but regular: the next thaw comes within the max delay (judged by the longest recent
                # gap), so what is unsent may wait for it instead of billing a flush now.
                if state.capacity_bytes and state.pending_bytes >= state.capacity_bytes * HIGH_WATER:
                    return EndPlan(cap, cap, "adaptive-high-water")
                return EndPlan(0.0, 0.0, "adaptive-sparse-hold")
            # The next invocation may be far away: do not leave data (or a send) waiting across a long freeze.
            return EndPlan(cap, cap, "adaptive-sparse")
        if state.oldest_age_s >= self.max_delay_s:
            return EndPlan(cap, cap, "adaptive-stale")
        if state.capacity_bytes and state.pending_bytes >= state.capacity_bytes * HIGH_WATER:
            return EndPlan(cap, cap, "adaptive-high-water")
        return EndPlan(0.0, 0.0, "adaptive-frequent")
