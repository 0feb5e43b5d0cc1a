"""OTLP export requests in the dict form, shaped like what zerolag's agent and extension send."""

from __future__ import annotations

import hashlib
from typing import Any

T0 = 1_764_300_000_000_000_000  # 2025-11-28 ~03:20 UTC, in ns
MS = 1_000_000


def hex_id(seed: str, nbytes: int) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[: nbytes * 2]


def attrs(values: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        if isinstance(value, bool):
            out.append({"key": key, "value": {"boolValue": value}})
        elif isinstance(value, int):
            out.append({"key": key, "value": {"intValue": value}})
        elif isinstance(value, float):
            out.append({"key": key, "value": {"doubleValue": value}})
        else:
            out.append({"key": key, "value": {"stringValue": str(value)}})
    return out


def resource(function: str) -> dict[str, Any]:
    return {"attributes": attrs({"service.name": function, "faas.name": function, "cloud.provider": "aws"})}


def invocation_trace(
    function: str,
    request_id: str,
    *,
    start_ns: int = T0,
    duration_ms: float = 120.0,
    cold_start: bool = False,
    status: str = "ok",
    error_type: str | None = None,
    children: int = 2,
) -> dict[str, Any]:
    """A SERVER span for the invocation plus ``children`` client spans, one with an event."""
    trace_id = hex_id("trace" + request_id, 16)
    root = hex_id("root" + request_id, 8)
    end_ns = start_ns + int(duration_ms * MS)
    root_attrs: dict[str, Any] = {
        "faas.invocation_id": request_id,
        "faas.trigger": "http",
        "faas.coldstart": cold_start,
    }
    root_span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": root,
        "name": function,
        "kind": 2,
        "startTimeUnixNano": start_ns,
        "endTimeUnixNano": end_ns,
        "attributes": attrs(root_attrs),
    }
    if status != "ok":
        root_attrs["error.type"] = error_type or "ValueError"
        root_attrs["aws.lambda.status"] = status
        root_span["attributes"] = attrs(root_attrs)
        root_span["status"] = {"code": 2, "message": f"{error_type}: boom"}
        root_span["events"] = [
            {
                "timeUnixNano": end_ns - MS,
                "name": "exception",
                "attributes": attrs(
                    {"exception.type": error_type or "ValueError", "exception.message": "boom"}
                ),
            }
        ]
    spans = [root_span]
    step = (end_ns - start_ns) // (children + 1)
    for i in range(children):
        s = start_ns + step * i + MS
        child: dict[str, Any] = {
            "traceId": trace_id,
            "spanId": hex_id(f"child{i}" + request_id, 8),
            "parentSpanId": root,
            "name": f"DynamoDB.GetItem #{i}" if i % 2 == 0 else f"GET https://api.example.com/items/{i}",
            "kind": 3,
            "startTimeUnixNano": s,
            "endTimeUnixNano": s + step - 2 * MS,
            "attributes": attrs({"rpc.system": "aws-api", "http.status_code": 200}),
        }
        if i == 0:
            child["events"] = [
                {"timeUnixNano": s + MS, "name": "cache miss", "attributes": attrs({"key": "k1"})}
            ]
        spans.append(child)
    return {"resourceSpans": [{"resource": resource(function), "scopeSpans": [{"spans": spans}]}]}


def platform_metrics(
    function: str,
    request_id: str,
    *,
    time_ns: int = T0,
    billed_ms: float = 200.0,
    used_mb: float = 61.0,
    size_mb: float = 128.0,
    init_ms: float | None = None,
    duration_ms: float | None = None,
) -> dict[str, Any]:
    """The extension's per-invocation platform gauges, tied to the invocation by ``faas.invocation_id``."""
    rid = attrs({"faas.invocation_id": request_id})
    values = [
        ("aws.lambda.billed_duration", "ms", billed_ms),
        ("aws.lambda.max_memory_used", "MiBy", used_mb),
        ("aws.lambda.memory_size", "MiBy", size_mb),
    ]
    if init_ms is not None:
        values.append(("aws.lambda.init_duration", "ms", init_ms))
    if duration_ms is not None:
        values.append(("aws.lambda.duration", "ms", duration_ms))
    metrics = [
        {
            "name": name,
            "unit": unit,
            "gauge": {"dataPoints": [{"timeUnixNano": time_ns, "asDouble": v, "attributes": rid}]},
        }
        for name, unit, v in values
    ]
    return {"resourceMetrics": [{"resource": resource(function), "scopeMetrics": [{"metrics": metrics}]}]}


def function_logs(function: str, request_id: str, lines: list[str], *, time_ns: int = T0) -> dict[str, Any]:
    """Function log lines correlated by request id and trace id."""
    trace_id = hex_id("trace" + request_id, 16)
    records = [
        {
            "timeUnixNano": time_ns + i * MS,
            "severityNumber": 17 if "ERROR" in line else 9,
            "severityText": "ERROR" if "ERROR" in line else "INFO",
            "body": {"stringValue": line},
            "traceId": trace_id,
            "attributes": attrs({"faas.invocation_id": request_id}),
        }
        for i, line in enumerate(lines)
    ]
    return {"resourceLogs": [{"resource": resource(function), "scopeLogs": [{"logRecords": records}]}]}
