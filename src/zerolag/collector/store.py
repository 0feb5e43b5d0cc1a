"""The collector's SQLite store: one writer connection behind a lock, a fresh read-only connection per reader.

Every export request is written in one ``BEGIN IMMEDIATE`` transaction, so a request is stored whole or not at
all. WAL mode lets the viewer read while ingest writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType

from zerolag.collector import retention, schema
from zerolag.collector.attributes import STATUS_RANK
from zerolag.collector.records import Invocation, Rows


class Store:
    """A SQLite database at ``path`` (created, with its directory and schema, when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._writer = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        for pragma in (*schema.CREATE_PRAGMAS, *schema.PRAGMAS):
            self._writer.execute(pragma)
        self._writer.executescript(schema.DDL)

    # --- writing ----------------------------------------------------------------------------------------
    def ingest(self, rows: Rows) -> None:
        """Store ``rows`` in one transaction: all of them, or (on any error) none."""
        with self._lock:
            db = self._writer
            db.execute("BEGIN IMMEDIATE")
            try:
                self._write(db, rows)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @staticmethod
    def _write(db: sqlite3.Connection, rows: Rows) -> None:
        links = rows.links or [[] for _ in rows.spans]
        for span, events, span_links in zip(rows.spans, rows.events, links, strict=True):
            cursor = db.execute(schema.INSERT_SPAN, span)
            if cursor.rowcount == 1 and (events or span_links):  # a resent duplicate span adds nothing
                span_pk = cursor.lastrowid
                db.executemany(schema.INSERT_EVENT, [(span_pk, *event) for event in events])
                db.executemany(schema.INSERT_LINK, [(span_pk, *link) for link in span_links])
        if rows.logs:
            db.executemany(schema.INSERT_LOG, rows.logs)
        if rows.points:
            db.executemany(schema.INSERT_POINT, rows.points)
        for inv in rows.invocations:
            sql = schema.UPSERT_INVOCATION_OVERRIDE if inv.authoritative else schema.UPSERT_INVOCATION_FILL
            db.execute(sql, _invocation_params(inv))

    def enforce_retention(
        self, *, now_ns: int, max_age_ns: int | None, max_bytes: int | None
    ) -> retention.Outcome:
        """Delete data older than ``max_age_ns``, then the oldest data until the store fits ``max_bytes``."""
        with self._lock:
            return retention.enforce(self._writer, now_ns=now_ns, max_age_ns=max_age_ns, max_bytes=max_bytes)

    def used_bytes(self) -> int:
        """Bytes the database's live pages take (free pages excluded)."""
        with self._lock:
            return retention.used_bytes(self._writer)

    # --- reading ----------------------------------------------------------------------------------------
    def reader(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read-only connection of its own, for one reader on one thread."""
        return open_reader(self.path)

    # --- lifecycle --------------------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._writer.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@contextmanager
def open_reader(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the store at ``path`` (for readers in other processes, like the CLI)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no collector database at {path}")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA busy_timeout=30000")
        yield db
    finally:
        db.close()


def _invocation_params(inv: Invocation) -> tuple[object, ...]:
    status = inv.status or "ok"
    rank = STATUS_RANK.get(status, 1) if inv.status is not None else -1
    return (
        inv.request_id,
        inv.function,
        inv.trace_id,
        inv.span_id,
        inv.start_ns or 0,
        inv.duration_ms,
        inv.billed_ms,
        inv.init_ms,
        None if inv.cold_start is None else int(inv.cold_start),
        inv.memory_used_mb,
        inv.memory_size_mb,
        status,
        rank,
        inv.error_type,
        inv.trigger,
    )
