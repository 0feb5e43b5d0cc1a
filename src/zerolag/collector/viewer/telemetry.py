"""Logs across invocations and custom metrics over a time range, in portable SQL.

Metrics are bucketed in SQL by integer division of the time (``(time_ns - since) / width``), which SQLite
and PostgreSQL compute alike on integer columns. "Custom" means every metric but the platform's own
(``aws.lambda.*``, ``faas.*``), whether it came as OTLP or as EMF (the extension turns EMF into OTLP).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from zerolag.collector.db import Reader
from zerolag.collector.viewer.search import like_escape, like_operator
from zerolag.collector.viewer.timerange import TimeRange

PLATFORM_PREFIXES: Final = ("aws.lambda.", "faas.")
SEVERITIES: Final = (
    ("", "any severity", 0),
    ("debug", "debug+", 5),
    ("info", "info+", 9),
    ("warn", "warn+", 13),
    ("error", "error+", 17),
    ("fatal", "fatal", 21),
)
MAX_LOGS: Final = 1000
MAX_METRICS: Final = 24
BUCKETS: Final = 60


def min_severity(name: str | None) -> int:
    """The lowest OTLP severity number the filter ``name`` keeps (0: all)."""
    return next((number for key, _, number in SEVERITIES if key == (name or "")), 0)


@dataclass(frozen=True)
class LogFilters:
    function: str | None = None
    severity: str | None = None
    text: str | None = None
    limit: int = 200
    before_ns: int | None = None


def logs(db: Reader, rng: TimeRange, f: LogFilters) -> list[dict[str, Any]]:
    """The newest log records in ``rng`` matching ``f``."""
    where = ["time_ns >= ?", "time_ns < ?"]
    params: list[object] = [rng.since_ns, rng.until_ns]
    if f.before_ns is not None:
        where.append("time_ns < ?")
        params.append(f.before_ns)
    if f.function:
        where.append("function = ?")
        params.append(f.function)
    if level := min_severity(f.severity):
        where.append("severity_number >= ?")
        params.append(level)
    if f.text:
        where.append(f"body {like_operator(db)} ? ESCAPE '\\'")
        params.append(f"%{like_escape(f.text)}%")
    rows = db.execute(
        "SELECT time_ns, function, request_id, trace_id, span_id, severity_number, severity_text, body "  # noqa: S608
        f"FROM logs WHERE {' AND '.join(where)} ORDER BY time_ns DESC LIMIT ?",
        [*params, max(1, min(f.limit, MAX_LOGS))],
    )
    return [dict(row) for row in rows]


@dataclass
class Series:
    name: str
    unit: str
    kind: str
    points: int
    xs: list[int]
    values: list[float | None]  # per bucket: the mean of gauges/histograms, the total of sums

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit": self.unit,
            "kind": self.kind,
            "points": self.points,
            "buckets": [{"start_ns": x, "value": v} for x, v in zip(self.xs, self.values, strict=True)],
        }


def _is_custom(name: str) -> bool:
    return not name.startswith(PLATFORM_PREFIXES)


_NAMES_SQL: Final = (
    "WITH RECURSIVE names(name) AS ("
    " SELECT MIN(name) FROM metric_points"
    " UNION ALL SELECT (SELECT MIN(name) FROM metric_points WHERE name > names.name) FROM names"
    " WHERE names.name IS NOT NULL"
    ") SELECT name FROM names WHERE name IS NOT NULL"
)  # a loose scan of the (name, time_ns, ...) index: one seek per distinct metric name


def metric_names(db: Reader, rng: TimeRange, function: str | None) -> list[tuple[str, str, str, int]]:
    """``(name, unit, kind, points)`` of the custom metrics with points in ``rng``."""
    where, params = _where(rng, function)
    out: list[tuple[str, str, str, int]] = []
    for (name,) in db.execute(_NAMES_SQL).fetchall():
        if not _is_custom(name):
            continue
        rows = db.execute(
            f"SELECT unit, kind, COUNT(*) FROM metric_points WHERE name = ? AND {where} "  # noqa: S608
            "GROUP BY unit, kind ORDER BY unit, kind",
            [name, *params],
        )
        out.extend((name, r[0], r[1], int(r[2])) for r in rows)
    return out


def _where(rng: TimeRange, function: str | None) -> tuple[str, list[object]]:
    where = "time_ns >= ? AND time_ns < ?"
    params: list[object] = [rng.since_ns, rng.until_ns]
    if function:
        where += " AND function = ?"
        params.append(function)
    return where, params


def metric_series(db: Reader, rng: TimeRange, function: str | None, name: str | None = None) -> list[Series]:
    """Each custom metric (or only ``name``) in ``BUCKETS`` equal buckets over ``rng``."""
    width = max(1, -(-(rng.until_ns - rng.since_ns) // BUCKETS))
    xs = [rng.since_ns + i * width for i in range(BUCKETS)]
    out = []
    for metric, unit, kind, count in (
        metric_names(db, rng, function)[:MAX_METRICS]
        if not name
        else [m for m in metric_names(db, rng, function) if m[0] == name]
    ):
        where, params = _where(rng, function)
        rows = db.execute(
            f"SELECT (time_ns - ?) / ? AS b, SUM(value), COUNT(*) FROM metric_points WHERE {where} "  # noqa: S608
            "AND name = ? AND unit = ? AND kind = ? GROUP BY b",
            [rng.since_ns, width, *params, metric, unit, kind],
        )
        values: list[float | None] = [None] * BUCKETS
        for bucket, total, n in rows:
            if 0 <= int(bucket) < BUCKETS:
                values[int(bucket)] = float(total) if kind == "sum" else float(total) / int(n)
        out.append(Series(metric, unit, kind, count, xs, values))
    return out
