"""The functions overview: per function over a time range, what it did, how fast, how cold, what it cost,
and what telemetry itself cost. Counts come from portable SQL; percentiles are computed here, in Python,
over the range's rows (bounded by ``MAX_ROWS``), so SQLite and PostgreSQL give the same answer.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from zerolag.collector.series import percentile
from zerolag.collector.viewer import pricing
from zerolag.collector.viewer.timerange import TimeRange

MAX_ROWS: Final = 2_000_000
POST_RUNTIME_METRIC: Final = "aws.lambda.post_runtime_duration"  # docs/telemetry.md: the extensions' time
ARCH_KEYS: Final = ("host.arch", "aws.lambda.architecture", "cloud.platform.architecture")


@dataclass
class FunctionStats:
    """One function's row of the overview (and one object of ``GET /api/functions``)."""

    function: str
    invocations: int = 0
    errors: int = 0
    timeouts: int = 0
    ooms: int = 0
    error_rate: float | None = None  # every failed invocation (error, timeout, OOM) over invocations
    timeout_rate: float | None = None
    oom_rate: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    cold_starts: int = 0
    cold_start_rate: float | None = None
    init_p50_ms: float | None = None
    max_memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    memory_used_ratio: float | None = None
    architecture: str = pricing.DEFAULT_ARCH
    architecture_known: bool = False
    billed_ms: float = 0.0
    billed_gb_seconds: float = 0.0
    cost_usd: float = 0.0
    telemetry_invocations: int = 0  # invocations whose extensions' post-runtime time was reported
    telemetry_overhead_ms: float = 0.0  # billed post-runtime ms, summed
    telemetry_overhead_ms_per_invocation: float | None = None
    telemetry_overhead_cost_usd: float = 0.0
    telemetry_overhead_cost_share: float | None = None
    last_invocation_ns: int | None = None
    _durations: list[float] = field(default_factory=list, repr=False)
    _inits: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}


_ROWS_SQL: Final = (
    "SELECT function, start_ns, duration_ms, billed_ms, init_ms, cold_start, memory_used_mb, memory_size_mb, "
    "status FROM invocations WHERE start_ns >= ? AND start_ns < ? AND function IS NOT NULL"
)


def overview(db: sqlite3.Connection, rng: TimeRange) -> list[FunctionStats]:
    """Every function with an invocation in ``rng``, by name."""
    stats: dict[str, FunctionStats] = {}
    cursor = db.execute(_ROWS_SQL + f" LIMIT {MAX_ROWS}", (rng.since_ns, rng.until_ns))
    for row in cursor:
        _add(stats.setdefault(row[0], FunctionStats(row[0])), row)
    overhead = _post_runtime(db, rng)
    for name, s in stats.items():
        arch = _architecture(db, name)
        s.architecture, s.architecture_known = arch or pricing.DEFAULT_ARCH, arch is not None
        _finish(s, overhead.get(name))
    return [stats[name] for name in sorted(stats)]


def _add(s: FunctionStats, row: tuple[Any, ...]) -> None:
    _, start, duration, billed, init, cold, used, size, status = row
    s.invocations += 1
    s.last_invocation_ns = start if s.last_invocation_ns is None else max(s.last_invocation_ns, start)
    if status == "error":
        s.errors += 1
    elif status == "timeout":
        s.timeouts += 1
    elif status == "oom":
        s.ooms += 1
    if duration is not None:
        s._durations.append(duration)
    if cold:
        s.cold_starts += 1
        if init is not None:
            s._inits.append(init)
    if used is not None:
        s.max_memory_used_mb = used if s.max_memory_used_mb is None else max(s.max_memory_used_mb, used)
    if size is not None:
        s.memory_size_mb = size if s.memory_size_mb is None else max(s.memory_size_mb, size)
    if billed is not None and size is not None:
        s.billed_ms += billed
        s.billed_gb_seconds += pricing.gb_seconds(billed, size)


def _finish(s: FunctionStats, overhead: tuple[int, float] | None) -> None:
    n = s.invocations
    s.error_rate = (s.errors + s.timeouts + s.ooms) / n
    s.timeout_rate, s.oom_rate = s.timeouts / n, s.ooms / n
    durations = sorted(s._durations)
    s.p50_ms, s.p95_ms, s.p99_ms = (percentile(durations, q) for q in (50, 95, 99))
    s.cold_start_rate = s.cold_starts / n
    s.init_p50_ms = percentile(sorted(s._inits), 50)
    if s.max_memory_used_mb is not None and s.memory_size_mb:
        s.memory_used_ratio = s.max_memory_used_mb / s.memory_size_mb
    s.cost_usd = pricing.cost_usd(s.billed_gb_seconds, n, s.architecture)
    if overhead is not None:
        count, post_ms = overhead
        s.telemetry_invocations, s.telemetry_overhead_ms = count, post_ms
        s.telemetry_overhead_ms_per_invocation = post_ms / count if count else None
        if s.memory_size_mb:
            gb_s = pricing.gb_seconds(post_ms, s.memory_size_mb)
            s.telemetry_overhead_cost_usd = pricing.duration_cost_usd(gb_s, s.architecture)
        if s.cost_usd:
            s.telemetry_overhead_cost_share = s.telemetry_overhead_cost_usd / s.cost_usd
    s._durations, s._inits = [], []


def _post_runtime(db: sqlite3.Connection, rng: TimeRange) -> dict[str, tuple[int, float]]:
    """Per function: how many invocations reported their extensions' post-runtime time, and its sum (ms).

    Lambda bills that time (it is inside the billed duration), so it is what telemetry costs the function:
    the time extensions keep the invocation open after the runtime has answered.
    """
    rows = db.execute(
        "SELECT function, COUNT(*), SUM(value) FROM metric_points "
        "WHERE name = ? AND time_ns >= ? AND time_ns < ? AND function IS NOT NULL GROUP BY function",
        (POST_RUNTIME_METRIC, rng.since_ns, rng.until_ns),
    )
    return {row[0]: (int(row[1]), float(row[2] or 0.0)) for row in rows}


def _architecture(db: sqlite3.Connection, function: str) -> str | None:
    """The architecture the function's newest span's resource names, if any."""
    row = db.execute(
        "SELECT resource FROM spans WHERE function = ? ORDER BY start_ns DESC LIMIT 1", (function,)
    ).fetchone()
    if row is None:
        return None
    try:
        resource = json.loads(row[0])
    except ValueError:
        return None
    for key in ARCH_KEYS:
        if (arch := pricing.architecture(resource.get(key))) is not None:
            return arch
    return None


def totals(rows: list[FunctionStats]) -> dict[str, float]:
    """The range's totals across functions (the overview's summary line)."""
    invocations = sum(r.invocations for r in rows)
    failed = sum(r.errors + r.timeouts + r.ooms for r in rows)
    return {
        "invocations": invocations,
        "failed": failed,
        "error_rate": failed / invocations if invocations else 0.0,
        "cost_usd": sum(r.cost_usd for r in rows),
        "telemetry_overhead_cost_usd": sum(r.telemetry_overhead_cost_usd for r in rows),
    }
