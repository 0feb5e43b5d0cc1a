"""Memory buffer + disk spool as one store: bounded memory, overflow to disk, nothing dropped silently.

Not thread-safe on its own: the pipeline calls it under its lock. Disk writes happen only on overflow.
"""

from __future__ import annotations

import logging

from zerolag.extension.buffer import Batch, Chunk, MemoryBuffer
from zerolag.extension.counters import Counters
from zerolag.extension.flush import BufferState
from zerolag.extension.spool import Spool

_log = logging.getLogger(__name__)


class Store:
    def __init__(self, memory: MemoryBuffer, spool: Spool, counters: Counters, batch_bytes: int) -> None:
        self.memory = memory
        self.spool = spool
        self.counters = counters
        self.batch_bytes = batch_bytes
        self.spool_peak_bytes = 0
        self.memory_peak_bytes = 0
        self._disk_failed = False

    def pending_items(self) -> int:
        return self.memory.items + self.spool.index.items

    def empty(self) -> bool:
        return len(self.memory) == 0 and len(self.spool.index) == 0

    def state(self, now: float) -> BufferState:
        oldest = self.memory.oldest()
        age = 0.0 if oldest is None else now - oldest
        if len(self.spool.index):
            age = float("inf")  # spooled data has waited through an outage: never hold it back
        return BufferState(self.memory.bytes + self.spool.index.bytes, self.memory.capacity, age)

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
            self.counters.add("dropped", items)
            return
        if evicted:
            self.counters.add("dropped", evicted)
        if stored:
            self.counters.add("spooled", items)
            self.spool_peak_bytes = max(self.spool_peak_bytes, self.spool.index.bytes)
        else:
            self.counters.add("dropped", items)

    def next_batch(self) -> Batch | None:
        """The spool's oldest entry while memory has room for it, else a batch from memory."""
        entry = self.spool.index.peek()
        if entry is not None and (len(self.memory) == 0 or self.memory.fits(entry.size)):
            taken = self.spool.take()
            if taken is not None:
                entry, data = taken
                self.counters.add("unspooled", entry.items)
                return Batch(entry.signal, [Chunk(entry.signal, data, entry.items, 0.0)])
        return self.memory.take_batch(self.batch_bytes)

    def requeue(self, batch: Batch) -> None:
        """Give a failed batch back: to memory when it fits, else to the spool."""
        if self.memory.requeue(batch):
            return
        self._spill(batch.signal, batch.payload(), batch.items)

    def spill_all(self) -> int:
        """Move everything in memory to the spool (SHUTDOWN with data left); returns the items moved."""
        moved = 0
        while (batch := self.memory.take_batch(self.batch_bytes)) is not None:
            self._spill(batch.signal, batch.payload(), batch.items)
            moved += batch.items
        return moved
