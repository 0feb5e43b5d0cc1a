"""The collector's stores: SQLite (one file, the default) and PostgreSQL (shared by several collectors).

``open_store(target)`` takes ``sqlite:///path``, a plain path, or ``postgresql://...``; both stores offer
the same five operations (``ingest``, ``reader``, ``enforce_retention``, ``used_bytes``, ``close``), so the
collector, the viewer and ``zerolag traces`` do not care which they have. Readers speak the SQL of
``zerolag.collector.db``.

SQLite: one writer connection behind a lock, a fresh read-only connection per reader. Every export request is
written in one ``BEGIN IMMEDIATE`` transaction, so a request is stored whole or not at all. WAL mode lets the
viewer read while ingest writes.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from zerolag.collector import retention, schema
from zerolag.collector.attributes import STATUS_RANK
from zerolag.collector.db import Cursor, Dialect, Reader, StoreUnavailable, UnstorableError, redact
from zerolag.collector.records import Invocation, Rows

SQLITE_PREFIX = "sqlite:///"
POSTGRESQL_PREFIXES = ("postgresql://", "postgres://")


class DataStore(Protocol):
    """What the collector needs of a store."""

    description: str

    def ingest(self, rows: Rows) -> None: ...
    def reader(self) -> AbstractContextManager[Reader]: ...
    def enforce_retention(
        self, *, now_ns: int, max_age_ns: int | None, max_bytes: int | None
    ) -> retention.Outcome: ...
    def used_bytes(self) -> int: ...
    def close(self) -> None: ...


def sqlite_path(target: str | Path) -> Path | None:
    """The file of a SQLite target (``sqlite:///path`` or a plain path), ``None`` for a server URL."""
    text = str(target)
    if text.startswith(POSTGRESQL_PREFIXES):
        return None
    if text.startswith(SQLITE_PREFIX):
        text = text.removeprefix(SQLITE_PREFIX)
        # sqlite:///relative/x.db is relative, sqlite:////abs/x.db absolute (the SQLAlchemy convention)
    elif "://" in text:
        raise ValueError(f"unknown store {redact(text)!r}: use sqlite:///path or postgresql://...")
    return Path(text)


def open_store(target: str | Path) -> DataStore:
    """The store at ``target``, created (schema and all) when missing."""
    path = sqlite_path(target)
    if path is not None:
        return Store(path)
    from zerolag.collector.pgstore import PostgresStore

    return PostgresStore(str(target))


def open_reader(target: str | Path) -> AbstractContextManager[Reader]:
    """A read connection to an existing store (for readers in other processes, like the CLI)."""
    path = sqlite_path(target)
    if path is not None:
        return _sqlite_reader(path)
    from zerolag.collector.pgstore import open_pg_reader

    return open_pg_reader(str(target))


class SqliteReader:
    """A ``db.Reader`` over one read-only SQLite connection."""

    dialect: Dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.connection.execute(sql, params)

    def pick(self, *, sqlite: str, postgresql: str) -> str:
        return sqlite


class Store:
    """A SQLite database at ``path`` (created, with its directory and schema, when missing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = f"SQLite {self.path}"
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
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(str(exc)) from exc
            try:
                self._write(db, rows)
            except BaseException as exc:
                db.execute("ROLLBACK")
                if isinstance(exc, (sqlite3.IntegrityError, sqlite3.InterfaceError, OverflowError)):
                    raise UnstorableError(str(exc)) from exc
                if isinstance(exc, UnicodeEncodeError):
                    raise UnstorableError("text that is not valid Unicode") from exc
                if isinstance(exc, sqlite3.Error):
                    raise StoreUnavailable(str(exc)) from exc
                raise
            db.execute("COMMIT")

    @staticmethod
    def _write(db: sqlite3.Connection, rows: Rows) -> None:
        links = rows.links or [[] for _ in rows.spans]
        plain = [
            span
            for span, events, span_links in zip(rows.spans, rows.events, links, strict=True)
            if not events and not span_links
        ]
        if plain:
            db.executemany(schema.INSERT_SPAN, plain)
        for span, events, span_links in zip(rows.spans, rows.events, links, strict=True):
            if not events and not span_links:
                continue
            cursor = db.execute(schema.INSERT_SPAN, span)
            if cursor.rowcount == 1:  # a resent duplicate span adds nothing
                span_pk = cursor.lastrowid
                db.executemany(schema.INSERT_EVENT, [(span_pk, *event) for event in events])
                db.executemany(schema.INSERT_LINK, [(span_pk, *link) for link in span_links])
        if rows.logs:
            db.executemany(schema.INSERT_LOG, rows.logs)
        if rows.points:
            db.executemany(schema.INSERT_POINT, rows.points)
        for inv in rows.invocations:
            sql = schema.UPSERT_INVOCATION_OVERRIDE if inv.authoritative else schema.UPSERT_INVOCATION_FILL
            db.execute(sql, invocation_params(inv))

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
    def reader(self) -> AbstractContextManager[Reader]:
        """A read-only connection of its own, for one reader on one thread."""
        return _sqlite_reader(self.path)

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
def _sqlite_reader(path: Path) -> Iterator[Reader]:
    if not path.exists():
        raise FileNotFoundError(f"no collector database at {path}")
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        db.execute("PRAGMA busy_timeout=30000")
        yield SqliteReader(db)
    finally:
        db.close()


def invocation_params(inv: Invocation) -> tuple[object, ...]:
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
