"""Memory buffer + disk spool as one store: bounded memory, overflow to disk, nothing dropped silently.

Not thread-safe on its own: the pipeline calls it under its lock. Disk writes happen only on overflow.

The parts of a batch the backend refused and the pipeline split (400/413) wait at the very front, kept
apart (never merged again), until each is sent or dropped on its own.
"""

from __future__ import annotations

import logging
from collections import deque

from zerolag.extension.buffer import Batch, Chunk, MemoryBuffer
from zerolag.extension.counters import Counters
from zerolag.extension.flush import BufferState
from zerolag.extension.spool import Spool

_log = logging.getLogger(__name__)
MIN_BATCH_BYTES = 4096  # a 413 never shrinks batches below this (one request still travels alone)


class Store:
    def __init__(self, memory: MemoryBuffer, spool: Spool, counters: Counters, batch_bytes: int) -> None:
        self.memory = memory
        self.spool = spool
        self.counters = counters
        self.batch_bytes = batch_bytes
        self.spool_peak_bytes = 0
        self.memory_peak_bytes = 0
        self._disk_failed = False
        self._front: deque[Batch] = deque()  # split parts of a refused batch, sent first

    def pending_items(self) -> int:
        return self.memory.items + self.spool.index.items + sum(b.items for b in self._front)

    def pending_by_signal(self) -> dict[str, int]:
        """Items waiting, per signal (what a SHUTDOWN could not send)."""
        out: dict[str, int] = {}
        for chunk in [c for b in self._front for c in b.chunks] + self.memory.chunks():
            out[chunk.signal] = out.get(chunk.signal, 0) + chunk.items
        for entry in self.spool.index.entries():
            out[entry.signal] = out.get(entry.signal, 0) + entry.items
        return {k: v for k, v in out.items() if v}

    def empty(self) -> bool:
        return len(self.memory) == 0 and len(self.spool.index) == 0 and not self._front

    def state(self, now: float) -> BufferState:
        oldest = self.memory.oldest()
        age = 0.0 if oldest is None else now - oldest
        if len(self.spool.index):
            age = float("inf")  # spooled data has waited through an outage: never hold it back
        if self._front:
            age = float("inf")  # parts of a refused batch: send them on at once
        front = sum(b.size for b in self._front)
        return BufferState(self.memory.bytes + self.spool.index.bytes + front, self.memory.capacity, age)

    def add(self, chunk: Chunk) -> None:
        if self.memory.add(chunk):
            self.memory_peak_bytes = max(self.memory_peak_bytes, self.memory.bytes)
            return
        self._spill(chunk.signal, chunk.data, chunk.items)

    def _spill(self, signal: str, data: bytes, items: int) -> None:
        try:
            stored, evicted = self.spool.put(signal, data, items)  # type: ignore[arg-type]
        except OSError as exc:
            if not self._disk_failed:
                self._disk_failed = True
                _log.error(
                    "spool write failed (%s): data beyond the memory bound is dropped", type(exc).__name__
                )
            self.counters.lose("dropped_disk_error", items)
            return
        if evicted:
            self.counters.lose("dropped_spool_full", evicted)
        if stored:
            self.counters.add("spooled", items)
            self.spool_peak_bytes = max(self.spool_peak_bytes, self.spool.index.bytes)
        else:
            self.counters.lose("dropped_spool_full", items)

    def next_batch(self) -> Batch | None:
        """A split part first, then the spool's oldest entry while memory has room for it, else a batch from
        memory."""
        if self._front:
            return self._front.popleft()
        entry = self.spool.index.peek()
        if entry is not None and (len(self.memory) == 0 or self.memory.fits(entry.size)):
            taken = self.spool.take()
            if taken is not None:
                entry, data = taken
                self.counters.add("unspooled", entry.items)
                chunk = Chunk(entry.signal, data, entry.items, 0.0, whole=False, internal=entry.internal)
                return Batch(entry.signal, [chunk])
        return self.memory.take_batch(self.batch_bytes)

    def requeue(self, batch: Batch) -> None:
        """Give a failed batch back: a split part to the front, else to memory when it fits, else to the
        spool."""
        if batch.split:
            self._front.appendleft(batch)
            return
        if self.memory.requeue(batch):
            return
        self._spill(batch.signal, batch.payload(), batch.items)

    def spill(self, batch: Batch) -> None:
        """Write ``batch`` to the end of the spool (behind everything else)."""
        self._spill(batch.signal, batch.payload(), batch.items)

    def push_front(self, parts: list[Batch]) -> None:
        """The parts of a refused batch, in order, ahead of everything else."""
        self._front.extendleft(reversed(parts))

    def shrink_batches(self, refused_size: int) -> None:
        """The backend refused ``refused_size`` bytes as too large (413): smaller batches from now on."""
        self.batch_bytes = max(MIN_BATCH_BYTES, min(self.batch_bytes, refused_size // 2))

    def spill_all(self) -> int:
        """Move everything in memory to the spool (SHUTDOWN with data left); returns the items moved."""
        moved = 0
        while self._front:
            part = self._front.popleft()
            self._spill(part.signal, part.payload(), part.items)
            moved += part.items
        while (batch := self.memory.take_batch(self.batch_bytes)) is not None:
            self._spill(batch.signal, batch.payload(), batch.items)
            moved += batch.items
        return moved
