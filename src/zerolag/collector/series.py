"""Time series for the charts: duration percentiles, cold-start rate and init duration, errors per bucket."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from zerolag.collector.db import Reader

MAX_ROWS = 200_000


@dataclass(frozen=True)
class Bucket:
    start_ns: int
    end_ns: int
    invocations: int
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    cold_starts: int
    cold_start_rate: float | None
    init_p50_ms: float | None
    errors: int
    timeouts: int
    ooms: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of sorted ``values``."""
    if not values:
        return None
    rank = max(1, math.ceil(q / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


def _bucket(
    start: int, end: int, rows: list[tuple[int, float | None, int | None, float | None, str]]
) -> Bucket:
    durations = sorted(r[1] for r in rows if r[1] is not None)
    inits = sorted(r[3] for r in rows if r[3] is not None and r[2])
    cold = sum(1 for r in rows if r[2])
    statuses = [r[4] for r in rows]
    return Bucket(
        start_ns=start,
        end_ns=end,
        invocations=len(rows),
        p50_ms=percentile(durations, 50),
        p90_ms=percentile(durations, 90),
        p99_ms=percentile(durations, 99),
        cold_starts=cold,
        cold_start_rate=cold / len(rows) if rows else None,
        init_p50_ms=percentile(inits, 50),
        errors=statuses.count("error"),
        timeouts=statuses.count("timeout"),
        ooms=statuses.count("oom"),
    )


def buckets(
    db: Reader,
    *,
    function: str | None = None,
    count: int | None = None,
    since_ns: int | None = None,
    until_ns: int | None = None,
) -> list[Bucket]:
    """``count`` equal buckets from ``since_ns`` (default: the first invocation) to the last invocation.

    Without ``count``, about five invocations per bucket, between 1 and 30 buckets, so percentiles mean
    something on a quiet function.
    """
    where: list[str] = ["start_ns >= ?"]
    params: list[object] = [since_ns or 0]
    if until_ns is not None:
        where.append("start_ns < ?")
        params.append(until_ns)
    if function:
        where.append("function = ?")
        params.append(function)
    rows = db.execute(
        "SELECT start_ns, duration_ms, cold_start, init_ms, status FROM invocations "  # noqa: S608
        f"WHERE {' AND '.join(where)} ORDER BY start_ns LIMIT {MAX_ROWS}",
        params,
    ).fetchall()
    if not rows:
        return []
    if count is None:
        count = max(1, min(30, len(rows) // 5))
    low, high = rows[0][0], rows[-1][0]
    width = max(1, math.ceil((high - low + 1) / count))
    grouped: list[list[Any]] = [[] for _ in range(count)]
    for row in rows:
        grouped[min((row[0] - low) // width, count - 1)].append(tuple(row))
    return [_bucket(low + i * width, low + (i + 1) * width, group) for i, group in enumerate(grouped)]
