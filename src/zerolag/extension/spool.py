"""The bounded disk spool in ``/tmp``: where data goes when the memory buffer is full, resent on recovery.

``SpoolIndex`` is the pure bookkeeping (order, sizes, the bound, which entries to evict); ``Spool`` is the
thin file layer. One file per spilled batch, named ``<seq>.<signal>.<items>.pb``, written to a temporary name
then renamed, so a crash never leaves a torn entry under a real name. Entries survive an extension restart in
the same sandbox (Lambda keeps ``/tmp`` across a reset) and are picked up at start.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from zerolag.otlp import SIGNALS, Signal

SUFFIX = ".pb"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    seq: int
    signal: Signal
    items: int
    size: int
    named_items: int | None = None  # the count in the file's name, when ``items`` is an estimate of ours
    recovered: bool = False  # left by a previous run (else written by this process: ``items`` is exact)
    internal: int = 0  # from ``take``: items in the content beyond ``items`` (the extension's own metrics)

    @property
    def name(self) -> str:
        named = self.items if self.named_items is None else self.named_items
        return f"{self.seq:012d}.{self.signal}.{named}{SUFFIX}"


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

    def reserve_seq(self, seq: int) -> None:
        """Never hand out ``seq`` (or anything below it) again."""
        self._next_seq = max(self._next_seq, seq + 1)

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
    """Files under ``directory`` indexed by a ``SpoolIndex``. Not thread-safe: the pipeline holds its lock.

    The directory is not trusted (it survives resets, and anything may have been left in it): recovery and
    ``take`` skip what is not a regular file (directories, symlinks, dangling or not) and count it as
    ``spool_skipped``; an empty file or one whose content is not a valid request of its signal is removed and
    counted as ``spool_corrupt``. A recovered entry's item count comes from its content (the name's is only
    an estimate until then); an entry this process wrote keeps the count it was written with (the items
    counted as received), its content checked but never recounted into it. Nothing here raises to the
    sender: only ``put`` raises ``OSError``, after removing its partial temporary file.
    """

    def __init__(
        self, directory: str, capacity: int, count: Callable[[str, int], None] | None = None
    ) -> None:
        self.directory = directory
        self.index = SpoolIndex(capacity)
        self._ready = False
        self._count = count or (lambda name, n: None)

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
        except OSError as exc:  # not a directory, no permission...: start with an empty spool
            _log.warning("spool: %s cannot be listed (%s)", self.directory, type(exc).__name__)
            self._count("spool_skipped", 1)
            return 0
        entries = []
        for name in names:
            path = os.path.join(self.directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue  # vanished meanwhile
            regular = stat.S_ISREG(info.st_mode)
            if name.endswith(".tmp"):  # a write cut short: never a valid entry
                if regular or stat.S_ISLNK(info.st_mode):
                    _remove(path)
                continue
            entry = parse_name(name, info.st_size)
            if entry is None:
                continue  # not ours
            self.index.reserve_seq(entry.seq)  # never reuse the number, whatever holds it
            if not regular:
                self._count("spool_skipped", 1)
                _log.warning("spool: %s is not a regular file; skipped", name)
            elif info.st_size == 0:
                self._count("spool_corrupt", 1)
                _remove(path)
            else:
                # A request needs at least 2 bytes an item: a name claiming more is not believed.
                estimate = min(entry.items, info.st_size // 2)
                entries.append(
                    Entry(entry.seq, entry.signal, estimate, entry.size, entry.items, recovered=True)
                )
        self.index.load(entries)
        return len(entries)

    def put(self, signal: Signal, data: bytes, items: int) -> tuple[bool, int]:
        """Write one entry; returns (stored, items evicted to make room). Raises ``OSError`` on disk
        failure, leaving no partial file behind.
        """
        entry, evicted = self.index.new_entry(signal, items, len(data))
        for old in evicted:
            self._unlink(old)
        dropped = sum(e.items for e in evicted)
        if entry is None:
            return False, dropped
        path = os.path.join(self.directory, entry.name)
        tmp = path + ".tmp"
        created = False
        try:
            self._ensure_dir()
            # O_EXCL | O_NOFOLLOW: never write through something planted under our name
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            created = True
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except OSError:
            self.index.forget(entry)
            if created:
                _remove(tmp)  # e.g. ENOSPC halfway through: no partial file stays
            raise
        return True, dropped

    def take(self) -> tuple[Entry, bytes] | None:
        """Remove the oldest valid entry and return it (its items counted from the content); anything
        unreadable, empty or not a valid request is skipped and counted."""
        while (entry := self.index.pop()) is not None:
            path = os.path.join(self.directory, entry.name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
                with os.fdopen(fd, "rb") as f:
                    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                        raise IsADirectoryError(path)
                    data = f.read()
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._count("spool_skipped", 1)
                _log.warning("spool: %s cannot be read (%s); skipped", entry.name, type(exc).__name__)
                continue
            _remove(path)
            content = _content_items(entry.signal, data)
            if content is None:
                self._count("spool_corrupt", 1)
                _log.warning("spool: %s is not a valid %s request; removed", entry.name, entry.signal)
                continue
            if entry.recovered:
                return Entry(entry.seq, entry.signal, content, len(data), recovered=True), data
            # Written by this process: ``items`` is what was counted when it was received. The content may
            # hold more (the extension's own metrics batched with it), which must not count as sent.
            internal = max(0, content - entry.items)
            return Entry(entry.seq, entry.signal, entry.items, len(data), internal=internal), data
        return None

    def _unlink(self, entry: Entry) -> None:
        _remove(os.path.join(self.directory, entry.name))


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already, or a directory: nothing of ours to remove


def _content_items(signal: Signal, data: bytes) -> int | None:
    """The items of a spooled request, or None when it is empty or not a valid request."""
    from zerolag.otlp import OtlpDecodeError, check

    if not data:
        return None
    try:
        return check.check(signal, data)
    except OtlpDecodeError:
        return None
