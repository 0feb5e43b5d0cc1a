"""The bounded in-memory buffer and the batcher. Pure: no I/O, no clock (times are passed in).

Data is held as the protobuf export requests the receiver accepted. Two protobuf requests of one signal
concatenate into one valid request (``repeated`` fields merge), so a batch is the concatenation of chunks of
one signal, oldest first, up to ``batch_bytes``. A batch stays owned by the sender until the backend
acknowledges it: on failure it goes back to the front (``requeue``), so a send can never lose data.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from zerolag.otlp import SIGNALS, Signal


@dataclass(frozen=True)
class Chunk:
    signal: Signal
    data: bytes
    items: int
    created: float  # monotonic seconds when it was received
    whole: bool = True  # exactly one request as received (False: a spool entry, or a piece of a split)
    # Items in ``data`` that are not in ``items``: the extension's own metrics, never ``received``, so never
    # ``sent`` or ``dropped`` either. ``items`` is what the counters use; never recount it from ``data``.
    internal: int = 0


@dataclass
class Batch:
    signal: Signal
    chunks: list[Chunk] = field(default_factory=list)
    attempts: int = 0
    duplicate_risk: bool = False  # a previous attempt may have reached the backend
    split: bool = False  # a part of a batch the backend refused (400/413): kept apart, never re-merged

    @property
    def size(self) -> int:
        return sum(len(c.data) for c in self.chunks)

    @property
    def items(self) -> int:
        return sum(c.items for c in self.chunks)

    @property
    def internal(self) -> int:
        return sum(c.internal for c in self.chunks)

    def payload(self) -> bytes:
        return b"".join(c.data for c in self.chunks)


class MemoryBuffer:
    """Chunks per signal, bounded by ``capacity`` bytes. ``add`` refuses what does not fit (the caller spools
    it).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.bytes = 0
        self._queues: dict[Signal, deque[Chunk]] = {s: deque() for s in SIGNALS}

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    @property
    def items(self) -> int:
        return sum(c.items for q in self._queues.values() for c in q)

    def fits(self, size: int) -> bool:
        return self.bytes + size <= self.capacity

    def add(self, chunk: Chunk) -> bool:
        if not self.fits(len(chunk.data)):
            return False
        self._queues[chunk.signal].append(chunk)
        self.bytes += len(chunk.data)
        return True

    def chunks(self) -> list[Chunk]:
        """Every chunk held (a copy), oldest first within each signal."""
        return [c for q in self._queues.values() for c in q]

    def oldest(self) -> float | None:
        """Creation time of the oldest chunk, None when empty."""
        times = [q[0].created for q in self._queues.values() if q]
        return min(times) if times else None

    def take_batch(self, batch_bytes: int) -> Batch | None:
        """Remove and return a batch of the signal whose oldest chunk is oldest (at least one chunk)."""
        candidates = [(q[0].created, s) for s, q in self._queues.items() if q]
        if not candidates:
            return None
        signal = min(candidates)[1]
        queue = self._queues[signal]
        batch = Batch(signal)
        size = 0
        while queue and (not batch.chunks or size + len(queue[0].data) <= batch_bytes):
            chunk = queue.popleft()
            batch.chunks.append(chunk)
            size += len(chunk.data)
        self.bytes -= size
        return batch

    def requeue(self, batch: Batch) -> bool:
        """Put a failed batch back at the front; False (nothing changed) when it does not fit."""
        if not self.fits(batch.size):
            return False
        self._queues[batch.signal].extendleft(reversed(batch.chunks))
        self.bytes += batch.size
        return True

    def drain(self) -> list[Chunk]:
        """Remove and return every chunk (oldest first within each signal)."""
        out: list[Chunk] = []
        for queue in self._queues.values():
            out.extend(queue)
            queue.clear()
        self.bytes = 0
        return out
