"""Platform telemetry records and CloudWatch-style lines, built from measured instants (pure).

Shapes follow the contract, section 3 ([SCHEMA]); times are monotonic instants turned into wall-clock ISO
strings through a :class:`Clock` so durations never jump.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import datetime, timezone

TRACE_TYPE = "X-Amzn-Trace-Id"


def iso(wall: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``."""
    return datetime.fromtimestamp(wall, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def iso_now() -> str:
    return iso(time.time())


@dataclass(frozen=True)
class Clock:
    """Maps monotonic instants to wall-clock time (one offset taken at creation)."""

    offset: float

    @classmethod
    def create(cls) -> Clock:
        return cls(time.time() - time.monotonic())

    def wall(self, mono: float) -> float:
        return mono + self.offset

    def iso(self, mono: float) -> str:
        return iso(self.wall(mono))


def ms(start: float, end: float) -> float:
    """Milliseconds between two monotonic instants, rounded to 3 decimals, never negative."""
    return round(max(0.0, end - start) * 1000.0, 3)


def billed_ms(duration_ms: float) -> int:
    """Lambda bills every started millisecond."""
    return max(1, math.ceil(duration_ms))


def span(clock: Clock, name: str, start: float, end: float) -> dict[str, object]:
    return {"name": name, "start": clock.iso(start), "durationMs": ms(start, end)}


def tracing(trace_id: str | None) -> dict[str, object]:
    return {"tracing": {"type": TRACE_TYPE, "value": trace_id}} if trace_id else {}


def init_start(
    function_name: str, version: str, phase: str, memory_mb: int, runtime: str
) -> dict[str, object]:
    return {
        "functionName": function_name,
        "functionVersion": version,
        "initializationType": "on-demand",
        "phase": phase,
        "instanceMaxMemory": memory_mb,
        "runtimeVersion": runtime,
    }


def init_status(
    phase: str, status: str, error_type: str | None, extra: dict[str, object]
) -> dict[str, object]:
    """initRuntimeDone / initReport body."""
    record: dict[str, object] = {"initializationType": "on-demand", "phase": phase, "status": status}
    if error_type:
        record["errorType"] = error_type
    record.update(extra)
    return record


def start(request_id: str, version: str, trace_id: str | None) -> dict[str, object]:
    return {"requestId": request_id, "version": version, **tracing(trace_id)}


@dataclass(frozen=True)
class RuntimeTimes:
    """The instants of one invocation as seen from the runtime side."""

    started: float
    first_byte: float
    last_byte: float
    runtime_done: float
    produced_bytes: int


def runtime_done(
    clock: Clock,
    request_id: str,
    *,
    status: str,
    error_type: str | None,
    t: RuntimeTimes,
    trace_id: str | None,
) -> dict[str, object]:
    record: dict[str, object] = {"requestId": request_id, "status": status}
    if error_type:
        record["errorType"] = error_type
    record["metrics"] = {"durationMs": ms(t.started, t.runtime_done), "producedBytes": t.produced_bytes}
    record["spans"] = [
        span(clock, "responseLatency", t.started, t.first_byte),
        span(clock, "responseDuration", t.first_byte, t.last_byte),
        span(clock, "runtimeOverhead", t.last_byte, t.runtime_done),
    ]
    record.update(tracing(trace_id))
    return record


@dataclass(frozen=True)
class ReportMetrics:
    duration_ms: float
    billed_ms: int
    memory_mb: int
    max_used_mb: int
    init_ms: float | None


def report(
    clock: Clock,
    request_id: str,
    *,
    status: str,
    error_type: str | None,
    m: ReportMetrics,
    overhead: tuple[float, float],
    trace_id: str | None,
) -> dict[str, object]:
    metrics: dict[str, object] = {
        "durationMs": m.duration_ms,
        "billedDurationMs": m.billed_ms,
        "memorySizeMB": m.memory_mb,
        "maxMemoryUsedMB": m.max_used_mb,
    }
    if m.init_ms is not None:
        metrics["initDurationMs"] = m.init_ms
    record: dict[str, object] = {"requestId": request_id, "status": status}
    if error_type:
        record["errorType"] = error_type
    record["metrics"] = metrics
    record["spans"] = [span(clock, "extensionOverhead", overhead[0], overhead[1])]
    record.update(tracing(trace_id))
    return record


def extension_line(name: str, events: tuple[str, ...], error_type: str | None = None) -> str:
    """The CloudWatch line for an extension at the end of Init, as rapid prints it:
    ``EXTENSION\tName: x\tState: Ready\tEvents: [INVOKE,SHUTDOWN]`` (events in the order the extension
    registered them), plus ``\tError Type: T`` when it reported an error."""
    line = f"EXTENSION\tName: {name}\tState: Ready\tEvents: [{','.join(events)}]"
    return f"{line}\tError Type: {error_type}" if error_type else line


def subscription_line(api: str, name: str, types: tuple[str, ...]) -> str:
    """The CloudWatch line for an accepted subscription: ``TELEMETRY\tName: x\tState: Subscribed\tTypes:
    [Platform, Function]`` (``LOGS`` for the Logs API)."""
    label = "LOGS" if api == "logs" else "TELEMETRY"
    shown = ", ".join(t.capitalize() for t in types)
    return f"{label}\tName: {name}\tState: Subscribed\tTypes: [{shown}]"
