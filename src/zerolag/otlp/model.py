"""Building and reading OTLP requests in the dict form (see ``zerolag.otlp``): ids, attributes, builders.

Builders leave out proto3 defaults, so what they build is already in the canonical form that
``protobuf.decode`` returns. Times are Unix epoch nanoseconds (``int``).
"""

from __future__ import annotations

import os

from zerolag.otlp._iterate import iter_log_records, iter_metric_points, iter_spans
from zerolag.otlp._metrics import (
    exponential_histogram,
    gauge,
    histogram,
    histogram_point,
    metrics_request,
    number_point,
    resource_metrics,
    summary,
    summary_point,
)
from zerolag.otlp._metrics import sum_ as sum
from zerolag.otlp._values import any_value, attributes, attributes_to_dict, from_any_value
from zerolag.otlp._values import put as _put
from zerolag.otlp._values import resource as _resource
from zerolag.otlp._values import scope as _scope

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    import random
    from collections.abc import Mapping
    from typing import Any, Final

    Dict = dict[str, Any]

__all__ = [
    "DATA_POINT_FLAG_NO_RECORDED_VALUE",
    "SPAN_FLAG_SAMPLED",
    "AggregationTemporality",
    "SeverityNumber",
    "SpanKind",
    "StatusCode",
    "any_value",
    "attributes",
    "attributes_to_dict",
    "event",
    "exponential_histogram",
    "from_any_value",
    "gauge",
    "histogram",
    "histogram_point",
    "iter_log_records",
    "iter_metric_points",
    "iter_spans",
    "link",
    "log_record",
    "logs_request",
    "metrics_request",
    "new_span_id",
    "new_trace_id",
    "number_point",
    "resource_logs",
    "resource_metrics",
    "resource_spans",
    "span",
    "sum",
    "summary",
    "summary_point",
    "traces_request",
]


class SpanKind:
    """``Span.kind`` values."""

    UNSPECIFIED: Final = 0
    INTERNAL: Final = 1
    SERVER: Final = 2
    CLIENT: Final = 3
    PRODUCER: Final = 4
    CONSUMER: Final = 5


class StatusCode:
    """``Status.code`` values."""

    UNSET: Final = 0
    OK: Final = 1
    ERROR: Final = 2


class SeverityNumber:
    """``LogRecord.severityNumber`` values (the first of each level's four)."""

    UNSPECIFIED: Final = 0
    TRACE: Final = 1
    DEBUG: Final = 5
    INFO: Final = 9
    WARN: Final = 13
    ERROR: Final = 17
    FATAL: Final = 21


class AggregationTemporality:
    """``aggregationTemporality`` values of sums and histograms."""

    UNSPECIFIED: Final = 0
    DELTA: Final = 1
    CUMULATIVE: Final = 2


DATA_POINT_FLAG_NO_RECORDED_VALUE: Final = 1
SPAN_FLAG_SAMPLED: Final = 1


def _random_hex(nbytes: int, rng: random.Random | None) -> str:
    while True:
        raw = os.urandom(nbytes) if rng is None else rng.getrandbits(nbytes * 8).to_bytes(nbytes, "big")
        if any(raw):  # an all-zero id is invalid in W3C trace context and OTLP
            return raw.hex()


def new_trace_id(rng: random.Random | None = None) -> str:
    """A random 16-byte trace id as 32 lowercase hex digits (``os.urandom`` unless ``rng`` is given)."""
    return _random_hex(16, rng)


def new_span_id(rng: random.Random | None = None) -> str:
    """A random 8-byte span id as 16 lowercase hex digits (``os.urandom`` unless ``rng`` is given)."""
    return _random_hex(8, rng)


# --- traces -----------------------------------------------------------------------------------------


def event(name: str, time_ns: int, attrs: Mapping[str, Any] | None = None) -> Dict:
    """A span event."""
    return _put({}, timeUnixNano=time_ns, name=name, attributes=attributes(attrs))


def link(
    trace_id: str, span_id: str, attrs: Mapping[str, Any] | None = None, trace_state: str = "", flags: int = 0
) -> Dict:
    """A span link."""
    return _put(
        {},
        traceId=trace_id,
        spanId=span_id,
        traceState=trace_state,
        attributes=attributes(attrs),
        flags=flags,
    )


def span(
    name: str,
    trace_id: str,
    span_id: str,
    start_ns: int,
    end_ns: int,
    *,
    parent_span_id: str = "",
    kind: int = SpanKind.INTERNAL,
    attrs: Mapping[str, Any] | None = None,
    events: list[Dict] | None = None,
    links: list[Dict] | None = None,
    status_code: int = StatusCode.UNSET,
    status_message: str = "",
    trace_state: str = "",
    flags: int = 0,
) -> Dict:
    """A span; ``events``/``links`` are lists built with ``event``/``link``."""
    out = _put(
        {},
        traceId=trace_id,
        spanId=span_id,
        traceState=trace_state,
        parentSpanId=parent_span_id,
        flags=flags,
        name=name,
        kind=kind,
        startTimeUnixNano=start_ns,
        endTimeUnixNano=end_ns,
        attributes=attributes(attrs),
        events=events,
        links=links,
    )
    if status_code or status_message:
        out["status"] = _put({}, code=status_code, message=status_message)
    return out


def resource_spans(
    resource_attrs: Mapping[str, Any] | None,
    scope_name: str,
    spans: list[Dict],
    *,
    scope_version: str = "",
    schema_url: str = "",
) -> Dict:
    """One resource with one instrumentation scope holding ``spans``."""
    scope = _put({"scope": _scope(scope_name, scope_version)}, spans=spans)
    return _put({"resource": _resource(resource_attrs)}, scopeSpans=[scope], schemaUrl=schema_url)


def traces_request(*resources: Dict) -> Dict:
    """An ``ExportTraceServiceRequest`` from ``resource_spans(...)`` dicts."""
    return _put({}, resourceSpans=list(resources))


# --- logs -------------------------------------------------------------------------------------------


def log_record(
    body: Any,
    time_ns: int = 0,
    *,
    observed_time_ns: int = 0,
    severity_number: int = SeverityNumber.UNSPECIFIED,
    severity_text: str = "",
    attrs: Mapping[str, Any] | None = None,
    trace_id: str = "",
    span_id: str = "",
    flags: int = 0,
    event_name: str = "",
) -> Dict:
    """A log record; ``body`` is any Python value (converted with ``any_value``), ``None`` for no body."""
    out = _put(
        {},
        timeUnixNano=time_ns,
        observedTimeUnixNano=observed_time_ns,
        severityNumber=severity_number,
        severityText=severity_text,
    )
    if body is not None:
        out["body"] = any_value(body)
    return _put(
        out, attributes=attributes(attrs), flags=flags, traceId=trace_id, spanId=span_id, eventName=event_name
    )


def resource_logs(
    resource_attrs: Mapping[str, Any] | None,
    scope_name: str,
    records: list[Dict],
    *,
    scope_version: str = "",
    schema_url: str = "",
) -> Dict:
    """One resource with one instrumentation scope holding log ``records``."""
    scope = _put({"scope": _scope(scope_name, scope_version)}, logRecords=records)
    return _put({"resource": _resource(resource_attrs)}, scopeLogs=[scope], schemaUrl=schema_url)


def logs_request(*resources: Dict) -> Dict:
    """An ``ExportLogsServiceRequest`` from ``resource_logs(...)`` dicts."""
    return _put({}, resourceLogs=list(resources))
