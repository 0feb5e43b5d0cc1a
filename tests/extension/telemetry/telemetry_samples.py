"""Telemetry API event builders for the tests (shapes from lambda-contract.md section 3)."""

from __future__ import annotations

import json
from typing import Any

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.translator import TelemetryTranslator

T0 = "2026-01-01T00:00:00.000Z"
RID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
RID2 = "9fd1c9c8-0000-4c5e-8c3d-4b3b7d8c0002"
XRAY = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
XRAY_TRACE = "5759e988bd862e3fe1be46a994272793"


def ts(ms: int) -> str:
    """An ISO timestamp ``ms`` milliseconds after 2026-01-01T00:00:00Z."""
    s, msec = divmod(ms, 1000)
    m, s = divmod(s, 60)
    return f"2026-01-01T00:{m:02d}:{s:02d}.{msec:03d}Z"


def ev(kind: str, at_ms: int, record: Any) -> dict[str, Any]:
    return {"time": ts(at_ms), "type": kind, "record": record}


def init_events(at: int = 0) -> list[dict[str, Any]]:
    return [
        ev(
            "platform.initStart",
            at,
            {
                "initializationType": "on-demand",
                "phase": "init",
                "functionName": "fn",
                "functionVersion": "$LATEST",
            },
        ),
        ev(
            "platform.initRuntimeDone",
            at + 80,
            {"initializationType": "on-demand", "phase": "init", "status": "success"},
        ),
        ev(
            "platform.initReport",
            at + 81,
            {
                "initializationType": "on-demand",
                "phase": "init",
                "status": "success",
                "metrics": {"durationMs": 81.0},
            },
        ),
    ]


def invoke_events(
    *,
    rid: str = RID,
    at: int = 100,
    status: str = "success",
    error_type: str | None = None,
    duration: float = 12.5,
    init_ms: float | None = 81.0,
    used: int = 40,
    size: int = 128,
    logs: tuple[str, ...] = ("hello",),
    tracing: str | None = XRAY,
) -> list[dict[str, Any]]:
    start: dict[str, Any] = {"requestId": rid, "version": "$LATEST"}
    if tracing:
        start["tracing"] = {"type": "X-Amzn-Trace-Id", "value": tracing}
    done: dict[str, Any] = {
        "requestId": rid,
        "status": status,
        "metrics": {"durationMs": duration, "producedBytes": 12},
        "spans": [
            {"name": "responseLatency", "start": ts(at), "durationMs": 1.5},
            {"name": "responseDuration", "start": ts(at), "durationMs": 0.25},
            {"name": "runtimeOverhead", "start": ts(at), "durationMs": 0.5},
        ],
    }
    metrics: dict[str, Any] = {
        "durationMs": duration + 2,
        "billedDurationMs": int(duration + 3),
        "memorySizeMB": size,
        "maxMemoryUsedMB": used,
    }
    if init_ms is not None:
        metrics["initDurationMs"] = init_ms
    report: dict[str, Any] = {
        "requestId": rid,
        "status": status,
        "metrics": metrics,
        "spans": [{"name": "extensionOverhead", "start": ts(at), "durationMs": 2.0}],
    }
    if error_type:
        done["errorType"] = error_type
        report["errorType"] = error_type
    out = [ev("platform.start", at, start)]
    out += [ev("function", at + 1 + i, line + "\n") for i, line in enumerate(logs)]
    out += [
        ev("platform.runtimeDone", at + int(duration), done),
        ev("platform.report", at + int(duration) + 2, report),
    ]
    return out


class Sink:
    """Collects what a translator emits."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    def __call__(self, signal: str, request: dict[str, Any], request_id: str | None) -> None:
        self.calls.append((signal, request, request_id))

    def items(self, signal: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for sig, req, _ in self.calls:
            if sig == signal:
                out.extend(ob.items_of(sig, req))  # type: ignore[arg-type]
        return out

    def metric(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.items("metrics") if m["name"] == name]

    def spans(self) -> list[dict[str, Any]]:
        return self.items("traces")


def translator(sink: Sink, clock_ns: int = 1_767_225_600_000_000_000) -> TelemetryTranslator:
    return TelemetryTranslator(
        function_name="fn",
        resource={"service.name": "fn", "faas.name": "fn", "cloud.provider": "aws"},
        emit=sink,
        memory_mb=128,
        clock=lambda: clock_ns,
    )


def feed(tr: TelemetryTranslator, *deliveries: list[dict[str, Any]]) -> TelemetryTranslator:
    """Deliver batches, then SHUTDOWN(spindown): what a translator holds back (an agent might still report
    the last invocation) is finalized."""
    for events in deliveries:
        tr.handle_body(body(events))
    tr.on_shutdown("spindown")
    return tr


def body(events: list[dict[str, Any]]) -> bytes:
    return json.dumps(events).encode()


def attr(item: dict[str, Any], key: str) -> Any:
    """The python value of attribute ``key`` (None when absent)."""
    for kv in item.get("attributes", []):
        if kv["key"] == key:
            value = kv["value"]
            if "arrayValue" in value:
                return [next(iter(v.values())) for v in value["arrayValue"].get("values", [])]
            return next(iter(value.values()))
    return None
