"""The queries behind the viewer's pages and its JSON API, on a read connection. Results are plain dicts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from zerolag.collector.db import Reader

STATUSES: Final = ("ok", "error", "timeout", "oom")
INVOCATION_COLUMNS: Final = (
    "request_id, function, trace_id, span_id, start_ns, duration_ms, billed_ms, init_ms, cold_start, "
    "memory_used_mb, memory_size_mb, status, error_type, trigger"
)


@dataclass(frozen=True)
class Filters:
    """The invocations table's filters; ``None`` means "any"."""

    function: str | None = None
    status: str | None = None
    cold_start: bool | None = None
    limit: int = 100
    before_ns: int | None = None  # only invocations that started before this (the "older" page)
    since_ns: int | None = None  # the time range, when one is given
    until_ns: int | None = None
    request_ids: tuple[str, ...] | None = None  # only these (a search's matches)


def _invocation(row: Any) -> dict[str, Any]:
    item = dict(row)
    item["cold_start"] = None if item["cold_start"] is None else bool(item["cold_start"])
    return item


def functions(db: Reader) -> list[str]:
    """Every function with at least one invocation, by name."""
    rows = db.execute(
        "SELECT DISTINCT function FROM invocations WHERE function IS NOT NULL ORDER BY function"
    )
    return [row[0] for row in rows]


def invocations(db: Reader, filters: Filters) -> list[dict[str, Any]]:
    """The newest invocations matching ``filters``."""
    where: list[str] = []
    params: list[object] = []
    if filters.function:
        where.append("function = ?")
        params.append(filters.function)
    if filters.status:
        where.append("status = ?")
        params.append(filters.status)
    for column_test, value in (
        ("start_ns < ?", filters.before_ns),
        ("start_ns >= ?", filters.since_ns),
        ("start_ns < ?", filters.until_ns),
    ):
        if value is not None:
            where.append(column_test)
            params.append(value)
    if filters.request_ids is not None:
        if not filters.request_ids:
            return []
        where.append(f"request_id IN ({', '.join('?' * len(filters.request_ids))})")
        params.extend(filters.request_ids)
    if filters.cold_start is not None:
        where.append("COALESCE(cold_start, 0) = ?")
        params.append(int(filters.cold_start))
    sql = f"SELECT {INVOCATION_COLUMNS} FROM invocations"  # noqa: S608 (only fixed fragments)
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY start_ns DESC LIMIT ?"
    params.append(max(1, min(filters.limit, 10_000)))
    return [_invocation(row) for row in db.execute(sql, params)]


def invocation(db: Reader, ident: str) -> dict[str, Any] | None:
    """One invocation by request id, or by trace id (its newest invocation)."""
    sql = f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE request_id = ?"  # noqa: S608
    row = db.execute(sql, (ident,)).fetchone()
    if row is None:
        sql = f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE trace_id = ? ORDER BY start_ns DESC"  # noqa: S608
        row = db.execute(sql, (ident.lower(),)).fetchone()
    return None if row is None else _invocation(row)


def spans(db: Reader, trace_id: str | None, request_id: str | None) -> list[dict[str, Any]]:
    """The invocation's spans: its trace's (except other invocations' in a shared trace) and any tagged with
    its request id, by start time, each with its events."""
    rows = db.execute(
        f"SELECT {SPAN_COLUMNS} FROM spans "  # noqa: S608 (fixed columns)
        "WHERE (trace_id = ? AND (request_id IS NULL OR request_id = ?)) OR request_id = ? "
        "ORDER BY start_ns, id",
        (trace_id or "", request_id or "", request_id or ""),
    ).fetchall()
    return [span_item(db, row) for row in rows]


SPAN_COLUMNS: Final = (
    "id, trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status_code, status_message, "
    "function, request_id, attributes, resource"
)


def span_item(db: Reader, row: Any) -> dict[str, Any]:
    """A span row as a dict, with its attributes, resource, events and links decoded."""
    item = dict(row)
    span_pk = item.pop("id")
    item["attributes"] = json.loads(item["attributes"])
    item["resource"] = json.loads(item["resource"])
    item["duration_ms"] = (item["end_ns"] - item["start_ns"]) / 1e6
    item["events"] = [
        {"time_ns": e["time_ns"], "name": e["name"], "attributes": json.loads(e["attributes"])}
        for e in db.execute(
            "SELECT time_ns, name, attributes FROM span_events WHERE span_pk = ? ORDER BY time_ns", (span_pk,)
        )
    ]
    item["links"] = [
        {
            "trace_id": link["trace_id"],
            "span_id": link["span_id"],
            "attributes": json.loads(link["attributes"]),
        }
        for link in db.execute(
            "SELECT trace_id, span_id, attributes FROM span_links WHERE span_pk = ?", (span_pk,)
        )
    ]
    return item


def logs(db: Reader, request_id: str | None, trace_id: str | None) -> list[dict[str, Any]]:
    """The invocation's log records: by request id, else by trace id, oldest first."""
    rows = db.execute(
        "SELECT time_ns, function, request_id, trace_id, span_id, severity_number, severity_text, body, "
        "attributes FROM logs WHERE request_id = ? OR (request_id IS NULL AND trace_id = ?) "
        "ORDER BY time_ns, id LIMIT 5000",
        (request_id or "", trace_id or ""),
    )
    return [dict(row, attributes=json.loads(row["attributes"])) for row in rows]


def metric_points(db: Reader, request_id: str) -> list[dict[str, Any]]:
    """The metric points reported for one invocation (the platform's numbers among them)."""
    rows = db.execute(
        "SELECT time_ns, name, unit, kind, value, count, sum, attributes FROM metric_points "
        "WHERE request_id = ? ORDER BY name, time_ns",
        (request_id,),
    )
    return [dict(row, attributes=json.loads(row["attributes"])) for row in rows]


def detail(db: Reader, ident: str) -> dict[str, Any] | None:
    """Everything the invocation page shows: the invocation, its spans, logs and metric points."""
    inv = invocation(db, ident)
    if inv is None:
        return None
    return {
        "invocation": inv,
        "spans": spans(db, inv["trace_id"], inv["request_id"]),
        "logs": logs(db, inv["request_id"], inv["trace_id"]),
        "metrics": metric_points(db, inv["request_id"]),
    }
