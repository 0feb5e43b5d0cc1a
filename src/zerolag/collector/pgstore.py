"""The PostgreSQL store: several stateless collectors write to and read from one database.

The tables and indexes are the SQLite store's (``schema.postgresql_ddl``), created when missing under an
advisory lock, so collectors that start together do not race. Each export request is one transaction; a
deadlock or serialization failure between two collectors writing the same invocation is retried. Retention
runs on whichever collector holds the retention advisory lock at that moment, so N collectors do not delete
the same rows N times. See docs/collector.md.

PostgreSQL text cannot hold NUL characters, which OTLP strings may carry: they are stored as U+FFFD.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Final

import psycopg
from psycopg import errors as pg_errors

from zerolag.collector import retention, schema
from zerolag.collector.db import (
    Cursor,
    Dialect,
    Reader,
    Row,
    StoreUnavailable,
    UnstorableError,
    redact,
    row_class,
    to_postgresql,
)
from zerolag.collector.records import Rows
from zerolag.collector.store import invocation_params

logger = logging.getLogger(__name__)

SCHEMA_LOCK: Final = 0x7A65_726F_6C61_6701  # pg advisory lock keys ("zerolag" + n)
RETENTION_LOCK: Final = 0x7A65_726F_6C61_6702
WRITE_ATTEMPTS: Final = 4
CONNECT_TIMEOUT_S: Final = 10
POOL_SIZE: Final = 8

_INSERT_SPAN = to_postgresql(schema.INSERT_SPAN)
_INSERT_SPAN_RETURNING = to_postgresql(schema.INSERT_SPAN_RETURNING)
_INSERT_EVENT = to_postgresql(schema.INSERT_EVENT)
_INSERT_LINK = to_postgresql(schema.INSERT_LINK)
_INSERT_LOG = to_postgresql(schema.INSERT_LOG)
_INSERT_POINT = to_postgresql(schema.INSERT_POINT)
_UPSERT_FILL = to_postgresql(schema.UPSERT_INVOCATION_FILL)
_UPSERT_OVERRIDE = to_postgresql(schema.UPSERT_INVOCATION_OVERRIDE)


def _rows(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    """psycopg row factory: rows readable by index and by name, like ``sqlite3.Row``."""
    names = [column.name for column in cursor.description] if cursor.description else []
    return row_class(names)


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        raise StoreUnavailable(f"cannot connect to {redact(url)}: {exc}") from exc


class PgReader:
    """A ``db.Reader`` over one PostgreSQL connection (``?`` placeholders, rows by index or name)."""

    dialect: Dialect = "postgresql"

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor = self.connection.cursor(row_factory=_rows)
        return cursor.execute(to_postgresql(sql), params)  # type: ignore[return-value]

    def pick(self, *, sqlite: str, postgresql: str) -> str:
        return postgresql


class _Pool:
    """A few open connections reused across requests; a broken one is dropped, not returned."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        if not self._slots.acquire(timeout=30):
            raise StoreUnavailable("all database connections busy")
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = _connect(self._url)
            try:
                yield conn
            except BaseException:
                if (
                    conn.closed
                    or conn.broken
                    or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
                ):
                    conn.close()
                else:
                    self._idle.put(conn)
                raise
            if conn.closed or self._closed:
                conn.close()
            else:
                self._idle.put(conn)
        finally:
            self._slots.release()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return


class PostgresStore:
    """The collector's tables in the PostgreSQL database at ``url`` (created when missing)."""

    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.description = f"PostgreSQL {redact(url)}"
        self._pool = _Pool(url, pool_size)
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            for statement in schema.postgresql_ddl().split(";"):
                if statement.strip():
                    conn.execute(statement)  # type: ignore[call-overload]

    # --- writing ----------------------------------------------------------------------------------------
    def ingest(self, rows: Rows) -> None:
        """Store ``rows`` in one transaction; a transient conflict with another collector is retried."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self._pool.connection() as conn, conn.transaction():
                    self._write(conn, rows)
                return
            except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure):
                if attempt == WRITE_ATTEMPTS - 1:
                    raise StoreUnavailable("the database kept refusing the write; retry later") from None
            except (psycopg.DataError, psycopg.IntegrityError, UnicodeEncodeError) as exc:
                raise UnstorableError(str(exc).splitlines()[0]) from exc
            except psycopg.OperationalError as exc:
                if attempt == 0:  # a pooled connection the server closed meanwhile: once more on a new one
                    continue
                raise StoreUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc
            except psycopg.Error as exc:
                raise StoreUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc

    @staticmethod
    def _write(conn: psycopg.Connection[Any], rows: Rows) -> None:
        with conn.cursor() as cur:
            spans = [_clean(span) for span in rows.spans]
            links = rows.links or [[] for _ in rows.spans]
            if any(rows.events) or any(links):
                cur.executemany(_INSERT_SPAN_RETURNING, spans, returning=True)
                events: list[tuple[Any, ...]] = []
                span_links: list[tuple[Any, ...]] = []
                for span_events, links_of_span in zip(rows.events, links, strict=True):
                    inserted = cur.fetchone()  # no row: a resent duplicate span, which adds nothing
                    if inserted is not None:
                        events += [(inserted[0], *_clean(event)) for event in span_events]
                        span_links += [(inserted[0], *_clean(link)) for link in links_of_span]
                    cur.nextset()
                if events:
                    cur.executemany(_INSERT_EVENT, events)
                if span_links:
                    cur.executemany(_INSERT_LINK, span_links)
            elif spans:
                cur.executemany(_INSERT_SPAN, spans)
            if rows.logs:
                cur.executemany(_INSERT_LOG, [_clean(log) for log in rows.logs])
            if rows.points:
                cur.executemany(_INSERT_POINT, [_clean(point) for point in rows.points])
            # one order for every writer, so two collectors upserting the same invocations cannot deadlock
            for inv in sorted(rows.invocations, key=lambda inv: inv.request_id):
                sql = _UPSERT_OVERRIDE if inv.authoritative else _UPSERT_FILL
                cur.execute(sql, _clean(invocation_params(inv)))

    def enforce_retention(
        self, *, now_ns: int, max_age_ns: int | None, max_bytes: int | None
    ) -> retention.Outcome:
        """The SQLite store's rules; skipped (deleting nothing, ``used_bytes`` -1) while another collector
        runs a pass."""
        with self._pool.connection() as conn:
            locked = conn.execute("SELECT pg_try_advisory_lock(%s)", (RETENTION_LOCK,)).fetchone()
            if not (locked and locked[0]):  # another collector is on it: no second scan of the tables
                return retention.Outcome(deleted_rows=0, used_bytes=-1)
            try:
                return retention.enforce_with(
                    _PgRetention(conn), now_ns=now_ns, max_age_ns=max_age_ns, max_bytes=max_bytes
                )
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (RETENTION_LOCK,))

    def used_bytes(self) -> int:
        with self._pool.connection() as conn:
            return _live_bytes(conn)

    # --- reading ----------------------------------------------------------------------------------------
    def reader(self) -> AbstractContextManager[Reader]:
        return self._reader()

    @contextmanager
    def _reader(self) -> Iterator[Reader]:
        try:
            with self._pool.connection() as conn:
                yield PgReader(conn)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from exc

    def close(self) -> None:
        self._pool.close()


def _clean(values: Sequence[Any]) -> tuple[Any, ...]:
    """A row's values with NUL characters (which PostgreSQL text refuses) as U+FFFD."""
    return tuple(v.replace("\x00", "\ufffd") if type(v) is str and "\x00" in v else v for v in values)


def _live_bytes(conn: psycopg.Connection[Any]) -> int:
    """Bytes of the live rows of the collector's tables (what a size limit means across vacuums)."""
    total = 0
    for table in (*retention.TABLES, *retention.CHILD_TABLES):
        row = conn.execute(f"SELECT COALESCE(SUM(pg_column_size(t.*)), 0) FROM {table} t").fetchone()  # noqa: S608
        total += int(row[0]) if row else 0
    return total


class _PgRetention:
    """``retention.Database`` on a PostgreSQL connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def delete_before(self, cutoff_ns: int) -> int:
        deleted = 0
        with self.conn.transaction():
            for child in retention.CHILD_TABLES:
                self.conn.execute(
                    f"DELETE FROM {child} WHERE span_pk IN (SELECT id FROM spans WHERE start_ns < %s)",  # noqa: S608
                    (cutoff_ns,),
                )
            for table, column in retention.TABLES.items():
                cursor = self.conn.execute(f"DELETE FROM {table} WHERE {column} < %s", (cutoff_ns,))  # noqa: S608
                deleted += max(cursor.rowcount, 0)
        return deleted

    def time_range(self) -> tuple[int, int] | None:
        lows, highs = [], []
        for table, column in retention.TABLES.items():
            row = self.conn.execute(f"SELECT MIN({column}), MAX({column}) FROM {table}").fetchone()  # noqa: S608
            if row and row[0] is not None:
                lows.append(int(row[0]))
                highs.append(int(row[1]))
        return (min(lows), max(highs)) if lows else None

    def used_bytes(self) -> int:
        return _live_bytes(self.conn)

    def compact(self) -> None:
        """Dead rows become reusable space (files shrink only by VACUUM FULL, which an operator schedules)."""
        for table in (*retention.TABLES, *retention.CHILD_TABLES):
            self.conn.execute(f"VACUUM {table}")  # type: ignore[call-overload]


@contextmanager
def open_pg_reader(url: str) -> Iterator[Reader]:
    """A read connection to the collector's PostgreSQL database (for the CLI)."""
    conn = _connect(url)
    try:
        yield PgReader(conn)
    finally:
        conn.close()
