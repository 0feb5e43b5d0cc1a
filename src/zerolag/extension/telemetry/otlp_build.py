"""Small builders for OTLP export requests in the dict form of ``zerolag.otlp`` (OTLP/JSON field names).

Pure functions, no I/O. Shared by the Telemetry API translator and the Thundra translator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from zerolag.otlp import TOP_LEVEL_KEY, Signal, model

JsonDict = dict[str, Any]

SCOPE: Final[JsonDict] = {"name": "zerolag.extension", "version": "0.1.0"}

SPAN_KIND_INTERNAL: Final = model.SpanKind.INTERNAL
SPAN_KIND_SERVER: Final = model.SpanKind.SERVER
SPAN_KIND_CLIENT: Final = model.SpanKind.CLIENT
STATUS_UNSET: Final = model.StatusCode.UNSET
STATUS_OK: Final = model.StatusCode.OK
STATUS_ERROR: Final = model.StatusCode.ERROR
TEMPORALITY_DELTA: Final = model.AggregationTemporality.DELTA

_SCOPE_ITEMS: Final[dict[Signal, tuple[str, str]]] = {
    "traces": ("scopeSpans", "spans"),
    "metrics": ("scopeMetrics", "metrics"),
    "logs": ("scopeLogs", "logRecords"),
}


def any_value(value: object) -> JsonDict:
    """One OTLP ``AnyValue`` for a Python value: ``zerolag.otlp.model``'s conversion (nested lists and dicts
    included; integers outside int64 and unknown types become strings)."""
    return model.any_value(value)


def attributes(values: Mapping[Any, object]) -> list[JsonDict]:
    """OTLP ``KeyValue`` list for a mapping (keys as strings), skipping ``None`` values."""
    return model.attributes({str(k): v for k, v in values.items()})


def request(signal: Signal, resource: Mapping[str, object], items: Iterable[JsonDict]) -> JsonDict:
    """An export request holding ``items`` (spans, metrics or log records) under one resource and scope."""
    scope_key, items_key = _SCOPE_ITEMS[signal]
    return {
        TOP_LEVEL_KEY[signal]: [
            {
                "resource": {"attributes": attributes(resource)},
                scope_key: [{"scope": dict(SCOPE), items_key: list(items)}],
            }
        ]
    }


def items_of(signal: Signal, req: Mapping[str, Any]) -> list[JsonDict]:
    """Every span, metric or log record of a request built by :func:`request` (for tests and counting)."""
    scope_key, items_key = _SCOPE_ITEMS[signal]
    out: list[JsonDict] = []
    for rs in req.get(TOP_LEVEL_KEY[signal], []):
        for ss in rs.get(scope_key, []):
            out.extend(ss.get(items_key, []))
    return out


def span(
    *,
    trace_id: str,
    span_id: str,
    name: str,
    start_ns: int,
    end_ns: int,
    kind: int = SPAN_KIND_INTERNAL,
    parent_span_id: str = "",
    attrs: Mapping[str, object] | None = None,
    status_code: int = STATUS_UNSET,
    status_message: str = "",
    events: list[JsonDict] | None = None,
) -> JsonDict:
    """One OTLP span."""
    out: JsonDict = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": name,
        "kind": kind,
        "startTimeUnixNano": start_ns,
        "endTimeUnixNano": max(end_ns, start_ns),
        "attributes": attributes(attrs or {}),
        "status": {"code": status_code, **({"message": status_message} if status_message else {})},
    }
    if parent_span_id:
        out["parentSpanId"] = parent_span_id
    if events:
        out["events"] = events
    return out


def event(name: str, time_ns: int, attrs: Mapping[str, object]) -> JsonDict:
    """One span event."""
    return {"name": name, "timeUnixNano": time_ns, "attributes": attributes(attrs)}


def _point(time_ns: int, value: float, attrs: Mapping[str, object] | None) -> JsonDict:
    point: JsonDict = {"timeUnixNano": time_ns, "attributes": attributes(attrs or {})}
    if isinstance(value, int) and not isinstance(value, bool):
        point["asInt"] = value
    else:
        point["asDouble"] = float(value)
    return point


def gauge(
    name: str, unit: str, time_ns: int, value: float, attrs: Mapping[str, object] | None = None
) -> JsonDict:
    """A gauge metric with one data point."""
    return {"name": name, "unit": unit, "gauge": {"dataPoints": [_point(time_ns, value, attrs)]}}


def counter(
    name: str,
    unit: str,
    time_ns: int,
    value: int,
    attrs: Mapping[str, object] | None = None,
    *,
    start_ns: int | None = None,
) -> JsonDict:
    """A monotonic delta sum with one data point (one invocation's contribution)."""
    point = _point(time_ns, value, attrs)
    point["startTimeUnixNano"] = start_ns if start_ns is not None else time_ns
    return {
        "name": name,
        "unit": unit,
        "sum": {"dataPoints": [point], "aggregationTemporality": TEMPORALITY_DELTA, "isMonotonic": True},
    }


def log_record(
    *,
    time_ns: int,
    body: object,
    severity_number: int = 0,
    severity_text: str = "",
    attrs: Mapping[str, object] | None = None,
    trace_id: str = "",
    span_id: str = "",
    observed_ns: int | None = None,
) -> JsonDict:
    """One OTLP log record."""
    out: JsonDict = {
        "timeUnixNano": time_ns,
        "observedTimeUnixNano": observed_ns if observed_ns is not None else time_ns,
        "body": any_value(body),
        "attributes": attributes(attrs or {}),
    }
    if severity_number:
        out["severityNumber"] = severity_number
    if severity_text:
        out["severityText"] = severity_text
    if trace_id:
        out["traceId"] = trace_id
    if span_id:
        out["spanId"] = span_id
    return out
