"""The functions overview: per function over a time range, what it did, how fast, how cold, what it cost,
and what telemetry itself cost. Counts come from portable SQL; percentiles are computed here, in Python,
over the range's rows (bounded by ``MAX_ROWS``), so SQLite and PostgreSQL give the same answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Final

from zerolag.collector.db import Reader
from zerolag.collector.series import percentile
from zerolag.collector.viewer import pricing
from zerolag.collector.viewer.timerange import TimeRange

MAX_ROWS: Final = 2_000_000
POST_RUNTIME_METRIC: Final = "aws.lambda.post_runtime_duration"  # docs/telemetry.md: the extensions' time
ARCH_LOOKBACK: Final = 50  # newest spans whose resources are searched for the architecture
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

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# Each reads the covering index ``invocations_overview`` (function, start_ns, ...): one range per function.
_FUNCTIONS_SQL: Final = (
    "WITH RECURSIVE fns(name) AS ("
    " SELECT MIN(function) FROM invocations"
    " UNION ALL SELECT (SELECT MIN(function) FROM invocations WHERE function > fns.name) FROM fns"
    " WHERE fns.name IS NOT NULL"
    ") SELECT name FROM fns WHERE name IS NOT NULL"
)  # a loose index scan: one seek per distinct function, however many invocations there are
_AGGREGATE_SQL: Final = (
    "SELECT COUNT(*), "
    "SUM(CASE WHEN status = 'error' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN status = 'timeout' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN status = 'oom' THEN 1 ELSE 0 END), "
    "SUM(CASE WHEN cold_start = 1 THEN 1 ELSE 0 END), "
    "MAX(memory_used_mb), MAX(memory_size_mb), "
    "SUM(CASE WHEN memory_size_mb IS NOT NULL THEN billed_ms ELSE 0 END), "
    "SUM(billed_ms * memory_size_mb), MAX(start_ns) "
    "FROM invocations WHERE function = ? AND start_ns >= ? AND start_ns < ?"
)
_DURATIONS_SQL: Final = (
    "SELECT duration_ms, CASE WHEN cold_start = 1 THEN init_ms END FROM invocations "
    "WHERE function = ? AND start_ns >= ? AND start_ns < ?"
)


def overview(db: Reader, rng: TimeRange) -> list[FunctionStats]:
    """Every function with an invocation in ``rng``, by name."""
    names = [row[0] for row in db.execute(_FUNCTIONS_SQL).fetchall()]
    overhead = _post_runtime(db, rng, names)
    out = []
    for name in names:
        window = (name, rng.since_ns, rng.until_ns)
        row = db.execute(_AGGREGATE_SQL, window).fetchone()
        if not row or not row[0]:
            continue
        s = FunctionStats(name)
        s.invocations, s.errors, s.timeouts, s.ooms, s.cold_starts = (int(v or 0) for v in row[:5])
        s.max_memory_used_mb, s.memory_size_mb = row[5], row[6]
        s.billed_ms = float(row[7] or 0.0)
        s.billed_gb_seconds = float(row[8] or 0.0) / 1000 / 1024  # ms·MB → GB-s
        s.last_invocation_ns = row[9]
        rows = db.execute(_DURATIONS_SQL + f" LIMIT {MAX_ROWS}", window).fetchall()
        durations = sorted(r[0] for r in rows if r[0] is not None)
        inits = sorted(r[1] for r in rows if r[1] is not None)
        s.p50_ms, s.p95_ms, s.p99_ms = (percentile(durations, q) for q in (50, 95, 99))
        s.init_p50_ms = percentile(inits, 50)
        arch = _architecture(db, name)
        s.architecture, s.architecture_known = arch or pricing.DEFAULT_ARCH, arch is not None
        _finish(s, overhead.get(name))
        out.append(s)
    return out


def _finish(s: FunctionStats, overhead: tuple[int, float] | None) -> None:
    n = s.invocations
    s.error_rate = (s.errors + s.timeouts + s.ooms) / n
    s.timeout_rate, s.oom_rate = s.timeouts / n, s.ooms / n
    s.cold_start_rate = s.cold_starts / n
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


def _post_runtime(db: Reader, rng: TimeRange, names: list[str]) -> dict[str, tuple[int, float]]:
    """Per function: how many invocations reported their extensions' post-runtime time, and its sum (ms).

    Lambda bills that time (it is inside the billed duration), so it is what telemetry costs the function:
    the time extensions keep the invocation open after the runtime has answered.
    """
    out = {}
    for name in names:  # one range of the covering index (name, function, time_ns, value) each
        count, total = db.execute(
            "SELECT COUNT(*), SUM(value) FROM metric_points WHERE name = ? AND function = ? "
            "AND time_ns >= ? AND time_ns < ?",
            (POST_RUNTIME_METRIC, name, rng.since_ns, rng.until_ns),
        ).fetchone()
        if count:
            out[name] = (int(count), float(total or 0.0))
    return out


def _architecture(db: Reader, function: str) -> str | None:
    """The architecture the resources of the function's newest spans name, if any does (the extension's
    resource says ``host.arch``; an agent's or SDK's may not)."""
    rows = db.execute(
        f"SELECT resource FROM spans WHERE function = ? ORDER BY start_ns DESC LIMIT {ARCH_LOOKBACK}",  # noqa: S608
        (function,),
    )
    for raw in dict.fromkeys(row[0] for row in rows):
        try:
            resource = json.loads(raw)
        except ValueError:
            continue
        for key in ARCH_KEYS:
            if isinstance(resource, dict) and (arch := pricing.architecture(resource.get(key))) is not None:
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
