"""Memory budgets for the collector's requests: bytes held by bodies being read and by requests decoding.

A request reserves before it holds: a body's bytes as they arrive, a decode's estimated peak (its size times
what the decoder costs per byte) before it starts. A reservation that does not fit is refused, so the
client gets a retryable 503, instead of the process growing with the number of clients. One reservation
larger than the whole budget is clamped to it, so the largest accepted request still runs, alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from zerolag.otlp import CONTENT_TYPE_JSON

# Peak bytes of Python objects per byte of decoded body. Measured (benchmarks/bench_collector.py prints the
# peak RSS): about 11 for JSON spans and 7 for protobuf spans with a few attributes each; the estimates leave
# room for shapes with more, smaller values (a 1-byte protobuf attribute still costs a dict slot, a string).
DECODE_COST_PER_BYTE: Final = {CONTENT_TYPE_JSON: 24}
DEFAULT_DECODE_COST_PER_BYTE: Final = 16


class BudgetExceeded(Exception):
    """No room in the budget (in time)."""


class Budget:
    """``capacity`` bytes shared by threads and the event loop."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def try_take(self, size: int) -> bool:
        """Reserve ``size`` bytes now, or return False."""
        with self._cond:
            return self._take(size)

    def _take(self, size: int) -> bool:
        size = min(size, self.capacity)
        if self.used + size > self.capacity:
            return False
        self.used += size
        self.peak = max(self.peak, self.used)
        return True

    def give(self, size: int) -> None:
        with self._cond:
            self.used -= min(size, self.capacity)
            self._cond.notify_all()

    @contextmanager
    def hold(self, size: int, timeout: float) -> Iterator[None]:
        """Reserve ``size`` bytes for the block, waiting up to ``timeout`` seconds for room."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._take(size):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BudgetExceeded(f"no room for {size} bytes within {timeout:g} s")
                self._cond.wait(left)
        try:
            yield
        finally:
            self.give(size)


def decode_cost(media: str, size: int) -> int:
    """The estimated peak memory of decoding ``size`` bytes of ``media``."""
    return size * DECODE_COST_PER_BYTE.get(media, DEFAULT_DECODE_COST_PER_BYTE)
