"""Batching and retry decisions for one telemetry subscription. Pure: the clock and the RNG are arguments.

The platform buffers events per subscriber and delivers a batch when ``maxItems`` events or ``maxBytes`` bytes
are waiting, or when the oldest waiting event is ``timeoutMs`` old (contract section 3). Events that arrive
while the buffer is at capacity are dropped and counted; the deliverer reports them as
``platform.logsDropped``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from zerolag.lambda_wire import TelemetryEvent

# The buffer holds this many batches' worth before it drops (Lambda does not publish its own figure).
CAPACITY_BATCHES: Final = 4
DROPPED_REASON: Final = "Consumer seems to have fallen behind as it has not acknowledged receipt of logs."


@dataclass(frozen=True)
class Entry:
    """One buffered event, its encoded size, and when it was buffered (clock seconds)."""

    event: TelemetryEvent
    size: int
    added_at: float


class BatchBuffer:
    """Per-subscription FIFO with the flush rule and a bounded capacity. Not thread-safe: the owner locks."""

    def __init__(self, *, max_items: int, max_bytes: int, timeout_ms: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.timeout_s = timeout_ms / 1000.0
        self.capacity_items = max_items * CAPACITY_BATCHES
        self.capacity_bytes = max_bytes * CAPACITY_BATCHES
        self._entries: deque[Entry] = deque()
        self._bytes = 0
        self.dropped_records = 0
        self.dropped_bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def pending_bytes(self) -> int:
        """Encoded size of everything buffered."""
        return self._bytes

    def add(self, event: TelemetryEvent, size: int, now: float) -> bool:
        """Buffer ``event``; False (and counted as dropped) when the buffer is at capacity."""
        if len(self._entries) >= self.capacity_items or self._bytes + size > self.capacity_bytes:
            self.record_dropped(1, size)
            return False
        self._entries.append(Entry(event, size, now))
        self._bytes += size
        return True

    def record_dropped(self, records: int, size: int) -> None:
        """Count events that will never be delivered (overflow, or a batch whose retries ran out)."""
        self.dropped_records += records
        self.dropped_bytes += size

    def take_dropped(self) -> tuple[int, int]:
        """(records, bytes) dropped since the last call, and reset the counters."""
        counts = (self.dropped_records, self.dropped_bytes)
        self.dropped_records = self.dropped_bytes = 0
        return counts

    def due_at(self) -> float | None:
        """Clock time at which the oldest event's timeout forces a delivery; None when empty."""
        if not self._entries:
            return None
        return self._entries[0].added_at + self.timeout_s

    def ready(self, now: float, *, force: bool = False) -> bool:
        """Whether a batch should be delivered now (items, bytes or timeout reached, or a forced flush)."""
        if not self._entries:
            return False
        if force or len(self._entries) >= self.max_items or self._bytes >= self.max_bytes:
            return True
        due = self.due_at()
        return due is not None and now >= due

    def take(self) -> list[Entry]:
        """Remove and return the next batch: at most maxItems events and maxBytes bytes, at least one."""
        batch: list[Entry] = []
        size = 0
        while self._entries and len(batch) < self.max_items:
            entry = self._entries[0]
            if batch and size + entry.size > self.max_bytes:
                break
            batch.append(self._entries.popleft())
            size += entry.size
        self._bytes -= size
        return batch


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter for failed deliveries, bounded in attempts."""

    base_s: float = 0.1
    cap_s: float = 2.0
    max_attempts: int = 6

    def delay(self, failures: int, rng: Callable[[], float]) -> float | None:
        """Seconds to wait after the ``failures``-th consecutive failure, or None to give the batch up."""
        if failures >= self.max_attempts:
            return None
        ceiling = min(self.cap_s, self.base_s * (1 << max(failures - 1, 0)))
        return ceiling * (0.5 + 0.5 * rng())
