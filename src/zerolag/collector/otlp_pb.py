"""OTLP protobuf requests decoded by the official generated classes (opentelemetry-proto) on the protobuf
runtime (upb, in C), then turned into the dict form of ``zerolag.otlp`` that ``records`` reads.

The collector runs outside Lambda, so it uses the standard runtime rather than the extension's
standard-library decoder: parsing in C and walking the message objects is several times faster (see
benchmarks/bench_collector.py). Only what the dict form holds is copied; unknown fields are skipped.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Final

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from zerolag.collector import records
from zerolag.otlp import OtlpDecodeError, Signal

Dict = dict[str, Any]


_SCALARS: Final = {
    "string_value": "stringValue",
    "int_value": "intValue",
    "bool_value": "boolValue",
    "double_value": "doubleValue",
}


def _any(value: Any) -> Dict:
    which = value.WhichOneof("value")
    scalar = _SCALARS.get(which)
    if scalar is not None:
        return {scalar: getattr(value, which)}
    if which == "array_value":
        return {"arrayValue": {"values": [_any(v) for v in value.array_value.values]}}
    if which == "kvlist_value":
        return {"kvlistValue": {"values": _attrs(value.kvlist_value.values)}}
    if which == "bytes_value":
        return {"bytesValue": base64.b64encode(value.bytes_value).decode("ascii")}
    return {}


def _attrs(kvs: Any) -> list[Dict]:
    return [{"key": kv.key, "value": _any(kv.value)} for kv in kvs]


def _resource(message: Any) -> Dict:
    return {"attributes": _attrs(message.resource.attributes)} if message.HasField("resource") else {}


def _scope(message: Any) -> Dict:
    if not message.HasField("scope"):
        return {}
    scope = message.scope
    out: Dict = {"name": scope.name}
    if scope.version:
        out["version"] = scope.version
    if scope.attributes:
        out["attributes"] = _attrs(scope.attributes)
    return out


def _span(span: Any) -> Dict:
    out: Dict = {
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "name": span.name,
        "kind": span.kind,
        "startTimeUnixNano": span.start_time_unix_nano,
        "endTimeUnixNano": span.end_time_unix_nano,
        "attributes": _attrs(span.attributes),
    }
    if span.parent_span_id:
        out["parentSpanId"] = span.parent_span_id.hex()
    if span.trace_state:
        out["traceState"] = span.trace_state
    if span.flags:
        out["flags"] = span.flags
    if span.HasField("status"):
        out["status"] = {"code": span.status.code, "message": span.status.message}
    if span.events:
        out["events"] = [
            {"timeUnixNano": e.time_unix_nano, "name": e.name, "attributes": _attrs(e.attributes)}
            for e in span.events
        ]
    if span.links:
        out["links"] = [
            {"traceId": k.trace_id.hex(), "spanId": k.span_id.hex(), "attributes": _attrs(k.attributes)}
            for k in span.links
        ]
    return out


def _traces(data: bytes) -> Dict:
    request = ExportTraceServiceRequest.FromString(data)
    return {
        "resourceSpans": [
            {
                "resource": _resource(rs),
                "scopeSpans": [
                    {"scope": _scope(ss), "spans": [_span(s) for s in ss.spans]} for ss in rs.scope_spans
                ],
            }
            for rs in request.resource_spans
        ]
    }


def _log(record: Any) -> Dict:
    out: Dict = {
        "timeUnixNano": record.time_unix_nano,
        "observedTimeUnixNano": record.observed_time_unix_nano,
        "severityNumber": record.severity_number,
        "attributes": _attrs(record.attributes),
    }
    if record.severity_text:
        out["severityText"] = record.severity_text
    if record.HasField("body"):
        out["body"] = _any(record.body)
    if record.trace_id:
        out["traceId"] = record.trace_id.hex()
    if record.span_id:
        out["spanId"] = record.span_id.hex()
    if record.flags:
        out["flags"] = record.flags
    return out


def _logs(data: bytes) -> Dict:
    request = ExportLogsServiceRequest.FromString(data)
    return {
        "resourceLogs": [
            {
                "resource": _resource(rl),
                "scopeLogs": [
                    {"scope": _scope(sl), "logRecords": [_log(r) for r in sl.log_records]}
                    for sl in rl.scope_logs
                ],
            }
            for rl in request.resource_logs
        ]
    }


def _point(point: Any, kind: str) -> Dict:
    out: Dict = {
        "attributes": _attrs(point.attributes),
        "startTimeUnixNano": point.start_time_unix_nano,
        "timeUnixNano": point.time_unix_nano,
    }
    if kind in ("gauge", "sum"):
        which = point.WhichOneof("value")
        if which == "as_double":
            out["asDouble"] = point.as_double
        elif which == "as_int":
            out["asInt"] = point.as_int
        return out
    out["count"] = point.count
    if kind == "summary" or point.HasField("sum"):
        out["sum"] = point.sum
    if kind == "histogram":
        out["bucketCounts"] = list(point.bucket_counts)
        out["explicitBounds"] = list(point.explicit_bounds)
    return out


_KINDS: Final = {
    "gauge": "gauge",
    "sum": "sum",
    "histogram": "histogram",
    "exponential_histogram": "exponentialHistogram",
    "summary": "summary",
}


def _metric(metric: Any) -> Dict:
    out: Dict = {"name": metric.name, "unit": metric.unit}
    if metric.description:
        out["description"] = metric.description
    which = metric.WhichOneof("data")
    if which is not None:
        data = getattr(metric, which)
        kind = _KINDS[which]
        body: Dict = {"dataPoints": [_point(p, kind) for p in data.data_points]}
        if kind in ("sum", "histogram", "exponentialHistogram"):
            body["aggregationTemporality"] = data.aggregation_temporality
        if kind == "sum":
            body["isMonotonic"] = data.is_monotonic
        out[kind] = body
    return out


def _metrics(data: bytes) -> Dict:
    request = ExportMetricsServiceRequest.FromString(data)
    return {
        "resourceMetrics": [
            {
                "resource": _resource(rm),
                "scopeMetrics": [
                    {"scope": _scope(sm), "metrics": [_metric(m) for m in sm.metrics]}
                    for sm in rm.scope_metrics
                ],
            }
            for rm in request.resource_metrics
        ]
    }


def _value(value: Any) -> Any:
    """An ``AnyValue`` as the plain Python value ``attributes.any_value`` gives for its dict form."""
    which = value.WhichOneof("value")
    if which in _SCALARS:
        return getattr(value, which)
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value.hex()
    return None


def _trace_rows(data: bytes, now_ns: int) -> records.Rows:
    request = ExportTraceServiceRequest.FromString(data)
    rows = records.Rows()
    for rs in request.resource_spans:
        shared = records.resource_facts({kv.key: _value(kv.value) for kv in rs.resource.attributes})
        for ss in rs.scope_spans:
            for span in ss.spans:
                view: Dict = {
                    "traceId": span.trace_id.hex(),
                    "spanId": span.span_id.hex(),
                    "name": span.name,
                    "kind": span.kind,
                    "startTimeUnixNano": span.start_time_unix_nano,
                    "endTimeUnixNano": span.end_time_unix_nano,
                }
                if span.parent_span_id:
                    view["parentSpanId"] = span.parent_span_id.hex()
                if span.HasField("status"):
                    view["status"] = {"code": span.status.code, "message": span.status.message}
                if span.events:
                    view["events"] = [
                        {"timeUnixNano": e.time_unix_nano, "name": e.name, "attributes": _attrs(e.attributes)}
                        for e in span.events
                    ]
                if span.links:
                    view["links"] = [
                        {
                            "traceId": k.trace_id.hex(),
                            "spanId": k.span_id.hex(),
                            "attributes": _attrs(k.attributes),
                        }
                        for k in span.links
                    ]
                attrs = {kv.key: _value(kv.value) for kv in span.attributes}
                records.add_span(rows, shared, view, attrs, now_ns)
    return rows


def trace_rows(data: bytes, now_ns: int) -> records.Rows:
    """The store rows of a protobuf ``ExportTraceServiceRequest``, straight from the message objects (the
    hot path: no dict form in between); the same rows ``records.trace_rows(decode(...))`` gives."""
    try:
        return _trace_rows(data, now_ns)
    except (DecodeError, RecursionError) as exc:
        raise OtlpDecodeError(f"malformed protobuf traces request: {exc}") from exc


_DECODERS: Final[dict[str, Callable[[bytes], Dict]]] = {"traces": _traces, "metrics": _metrics, "logs": _logs}


def decode(signal: Signal, data: bytes) -> Dict:
    """The export request of ``signal`` in ``data``, in the dict form; ``OtlpDecodeError`` when malformed."""
    try:
        return _DECODERS[signal](data)
    except (DecodeError, RecursionError, ValueError) as exc:
        raise OtlpDecodeError(f"malformed protobuf {signal} request: {exc}") from exc
