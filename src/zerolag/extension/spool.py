"""The bounded disk spool in ``/tmp``: where data goes when the memory buffer is full, resent on recovery.

``SpoolIndex`` is the pure bookkeeping (order, sizes, the bound, which entries to evict); ``Spool`` is the
thin file layer. One file per spilled batch, named ``<seq>.<signal>.<items>.pb``, written to a temporary name
then renamed, so a crash never leaves a torn entry under a real name. Entries survive an extension restart in
the same sandbox (Lambda keeps ``/tmp`` across a reset) and are picked up at start.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass

from zerolag.otlp import SIGNALS, Signal

SUFFIX = ".pb"


@dataclass(frozen=True)
class Entry:
    seq: int
    signal: Signal
    items: int
    size: int

    @property
    def name(self) -> str:
        return f"{self.seq:012d}.{self.signal}.{self.items}{SUFFIX}"


def parse_name(name: str, size: int) -> Entry | None:
    """The entry a spool file name describes, None for anything else."""
    if not name.endswith(SUFFIX):
        return None
    parts = name[: -len(SUFFIX)].split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit() or parts[1] not in SIGNALS:
        return None
    return Entry(int(parts[0]), parts[1], int(parts[2]), size)  # type: ignore[arg-type]


class SpoolIndex:
    """Oldest-first entries bounded by ``capacity`` bytes: adding evicts the oldest to make room."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.bytes = 0
        self._entries: deque[Entry] = deque()
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def items(self) -> int:
        return sum(e.items for e in self._entries)

    def entries(self) -> tuple[Entry, ...]:
        """The entries, oldest first."""
        return tuple(self._entries)

    def load(self, entries: list[Entry]) -> None:
        for entry in sorted(entries, key=lambda e: e.seq):
            self._entries.append(entry)
            self.bytes += entry.size
            self._next_seq = max(self._next_seq, entry.seq + 1)

    def new_entry(self, signal: Signal, items: int, size: int) -> tuple[Entry | None, list[Entry]]:
        """Admit a new entry: (the entry or None if it can never fit, the entries to evict for it)."""
        if size > self.capacity:
            return None, []
        evicted: list[Entry] = []
        while self._entries and self.bytes + size > self.capacity:
            old = self._entries.popleft()
            self.bytes -= old.size
            evicted.append(old)
        entry = Entry(self._next_seq, signal, items, size)
        self._next_seq += 1
        self._entries.append(entry)
        self.bytes += size
        return entry, evicted

    def forget(self, entry: Entry) -> None:
        """Remove an entry that could not be written."""
        try:
            self._entries.remove(entry)
        except ValueError:
            return
        self.bytes -= entry.size

    def peek(self) -> Entry | None:
        return self._entries[0] if self._entries else None

    def pop(self) -> Entry | None:
        if not self._entries:
            return None
        entry = self._entries.popleft()
        self.bytes -= entry.size
        return entry


class Spool:
    """Files under ``directory`` indexed by a ``SpoolIndex``. Not thread-safe: the pipeline holds its lock."""

    def __init__(self, directory: str, capacity: int) -> None:
        self.directory = directory
        self.index = SpoolIndex(capacity)
        self._ready = False

    def _ensure_dir(self) -> None:
        if not self._ready:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            self._ready = True

    def recover(self) -> int:
        """Index the entries a previous run left behind; returns how many."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return 0
        entries = []
        for name in names:
            path = os.path.join(self.directory, name)
            if name.endswith(".tmp"):
                os.unlink(path)
                continue
            entry = parse_name(name, os.path.getsize(path))
            if entry is not None:
                entries.append(entry)
        self.index.load(entries)
        return len(entries)

    def put(self, signal: Signal, data: bytes, items: int) -> tuple[bool, int]:
        """Write one entry; returns (stored, items evicted to make room). Raises ``OSError`` on disk
        failure.
        """
        entry, evicted = self.index.new_entry(signal, items, len(data))
        for old in evicted:
            self._unlink(old)
        dropped = sum(e.items for e in evicted)
        if entry is None:
            return False, dropped
        self._ensure_dir()
        path = os.path.join(self.directory, entry.name)
        tmp = path + ".tmp"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            self.index.forget(entry)
            raise
        return True, dropped

    def take(self) -> tuple[Entry, bytes] | None:
        """Remove the oldest entry and return it with its data (a vanished file is skipped)."""
        while (entry := self.index.pop()) is not None:
            path = os.path.join(self.directory, entry.name)
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except FileNotFoundError:
                continue
            os.unlink(path)
            return entry, data
        return None

    def _unlink(self, entry: Entry) -> None:
        try:
            os.unlink(os.path.join(self.directory, entry.name))
        except FileNotFoundError:
            pass
