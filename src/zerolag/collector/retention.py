"""Retention: drop data older than an age, then the oldest data until the store fits a size.

Runs on the writer connection (the caller holds the store's write lock). Size is the bytes of live pages;
``PRAGMA incremental_vacuum`` then returns the freed pages to the file system.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final, Protocol

# table -> its time column
TABLES: Final = {
    "invocations": "start_ns",
    "spans": "start_ns",
    "logs": "time_ns",
    "metric_points": "time_ns",
}
CHILD_TABLES: Final = ("span_events", "span_links")  # rows of a span (span_pk): deleted with it
MAX_SIZE_ROUNDS: Final = 30


@dataclass(frozen=True)
class Outcome:
    """What one retention pass deleted, and the size it left."""

    deleted_rows: int
    used_bytes: int


def used_bytes(db: sqlite3.Connection) -> int:
    """Bytes of the database's live pages."""
    page_count = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    return int((page_count - free) * page_size)


def delete_before(db: sqlite3.Connection, cutoff_ns: int) -> int:
    """Delete every row older than ``cutoff_ns`` (span events with their spans), in one transaction."""
    deleted = 0
    db.execute("BEGIN IMMEDIATE")
    try:
        for child in CHILD_TABLES:
            db.execute(
                f"DELETE FROM {child} WHERE span_pk IN (SELECT id FROM spans WHERE start_ns < ?)",  # noqa: S608
                (cutoff_ns,),
            )
        for table, column in TABLES.items():
            deleted += db.execute(f"DELETE FROM {table} WHERE {column} < ?", (cutoff_ns,)).rowcount  # noqa: S608
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return deleted


def _time_range(db: sqlite3.Connection) -> tuple[int, int] | None:
    lows, highs = [], []
    for table, column in TABLES.items():
        low, high = db.execute(f"SELECT MIN({column}), MAX({column}) FROM {table}").fetchone()  # noqa: S608
        if low is not None:
            lows.append(low)
            highs.append(high)
    return (min(lows), max(highs)) if lows else None


class Database(Protocol):
    """The four things a retention pass needs of a store's writer (SQLite here, PostgreSQL in pgstore)."""

    def delete_before(self, cutoff_ns: int) -> int: ...
    def time_range(self) -> tuple[int, int] | None: ...
    def used_bytes(self) -> int: ...
    def compact(self) -> None: ...


class _Sqlite:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def delete_before(self, cutoff_ns: int) -> int:
        return delete_before(self.db, cutoff_ns)

    def time_range(self) -> tuple[int, int] | None:
        return _time_range(self.db)

    def used_bytes(self) -> int:
        return used_bytes(self.db)

    def compact(self) -> None:
        self.db.execute("PRAGMA incremental_vacuum")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def enforce(db: sqlite3.Connection, *, now_ns: int, max_age_ns: int | None, max_bytes: int | None) -> Outcome:
    """One pass on a SQLite writer connection."""
    return enforce_with(_Sqlite(db), now_ns=now_ns, max_age_ns=max_age_ns, max_bytes=max_bytes)


def enforce_with(db: Database, *, now_ns: int, max_age_ns: int | None, max_bytes: int | None) -> Outcome:
    """Apply the age limit, then cut the oldest tenth of the remaining time span until under ``max_bytes``."""
    deleted = 0
    if max_age_ns is not None:
        deleted += db.delete_before(now_ns - max_age_ns)
    if max_bytes is not None:
        for _ in range(MAX_SIZE_ROUNDS):
            if db.used_bytes() <= max_bytes or (span := db.time_range()) is None:
                break
            low, high = span
            deleted += db.delete_before(low + max((high - low) // 10, 1))
    if deleted:
        db.compact()
    return Outcome(deleted_rows=deleted, used_bytes=db.used_bytes())
