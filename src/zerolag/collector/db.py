"""The seam between the collector's SQL and its two databases: SQLite (one file) and PostgreSQL (shared).

Every query module (``queries``, ``series`` and the viewer's pages) reads through a ``Reader``:

- ``db.execute(sql, params)`` takes SQL with ``?`` placeholders on both databases (the PostgreSQL reader turns
  them into ``%s``) and returns a cursor with ``fetchone()``, ``fetchall()`` and iteration;
- a row answers ``row[0]``, ``row["column"]``, ``row.keys()`` and ``dict(row)`` on both;
- ``db.dialect`` is ``"sqlite"`` or ``"postgresql"`` for the few places where the SQL must differ
  (``db.pick(sqlite=..., postgresql=...)`` chooses).

SQL that runs on both keeps to the common ground: integer nanoseconds, ``COALESCE``, ``CASE``, ``LIMIT ?``,
no ``MIN(a, b)``/``MAX(a, b)`` of two values (SQLite only; write a ``CASE``), no ``json_extract`` (SQLite) or
``->>`` (PostgreSQL) without ``pick``, no ``%`` outside string literals. See docs/collector.md.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]


class StoreError(Exception):
    """The store failed to write or read."""


class UnstorableError(StoreError):
    """The data itself cannot be stored (a retry would fail the same way): the request gets a 400."""


class StoreUnavailable(StoreError):
    """The database is unreachable or busy: the request gets a 503 and the client retries."""


class Cursor(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Reader(Protocol):
    """A read connection, on one thread, for one request."""

    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor: ...

    def pick(self, *, sqlite: str, postgresql: str) -> str: ...


class Row(tuple[Any, ...]):
    """A result row readable by index and by column name (like ``sqlite3.Row``), for PostgreSQL."""

    _names: tuple[str, ...] = ()

    def keys(self) -> tuple[str, ...]:
        return self._names

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._names.index(key))
            except ValueError:
                raise IndexError(f"no column {key!r}") from None
        return tuple.__getitem__(self, key)


def row_class(names: Sequence[str]) -> type[Row]:
    """A ``Row`` subclass knowing its column ``names`` (one per result shape)."""
    return type("Row", (Row,), {"_names": tuple(names), "__slots__": ()})


_LITERAL_OR_MARK = re.compile(r"'(?:[^']|'')*'|\?|%")


@functools.lru_cache(maxsize=512)
def to_postgresql(sql: str) -> str:
    """``?`` placeholders as ``%s`` and a bare ``%`` as ``%%``, leaving string literals alone."""

    def swap(match: re.Match[str]) -> str:
        text = match.group(0)
        if text == "?":
            return "%s"
        if text == "%":
            return "%%"
        return text.replace("%", "%%")  # psycopg scans literals for % too

    return _LITERAL_OR_MARK.sub(swap, sql)


def redact(url: str) -> str:
    """A store URL without its password, for messages and logs."""
    return re.sub(r"//([^:/@]+):[^@/]*@", r"//\1:***@", url)
