"""The agent's specialised protobuf encoder, checked against the official opentelemetry-proto messages and
against zerolag.otlp.protobuf."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from zerolag.agent import encode
from zerolag.agent.propagation import new_span_id, new_trace_id
from zerolag.agent.redact import REDACTED, Redactor
from zerolag.agent.spans import ERROR, Span
from zerolag.otlp import protobuf

RES = encode.resource({"service.name": "svc", "faas.max_memory": 134217728})
SCOPE = encode.scope("zerolag.agent", "0.1.0")


def _span(**attrs: Any) -> Span:
    s = Span("op", new_trace_id(), new_span_id(), True, 3, dict(attrs))
    s.end()
    return s


def test_spans_decode_with_opentelemetry_proto() -> None:
    """Ids, name, kind, times, attributes of every type, events and status decode as written."""
    s = Span(
        "checkout",
        0x4BF92F3577B34DA6A3CE929D0E0E4736,
        0x00F067AA0BA902B7,
        True,
        2,
        {"s": "x", "i": -5, "f": 1.5, "b": True, "l": ["a", 1], "d": {"k": "v"}, "n": None},
    )
    s.add_event("exception", {"exception.type": "ValueError"})
    s.set_status(ERROR, "boom")
    s.end()
    msg = ExportTraceServiceRequest.FromString(encode.traces(RES, SCOPE, [s], None))
    rs = msg.resource_spans[0]
    assert rs.resource.attributes[0].value.string_value == "svc"
    assert rs.scope_spans[0].scope.name == "zerolag.agent"
    out = rs.scope_spans[0].spans[0]
    assert out.trace_id.hex() == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert out.parent_span_id.hex() == "00f067aa0ba902b7"
    assert out.span_id == s.span_id.to_bytes(8, "big")
    assert (out.name, out.kind) == ("checkout", 2)
    assert (out.start_time_unix_nano, out.end_time_unix_nano) == (s.start_time, s.end_time)
    attrs = {kv.key: kv.value for kv in out.attributes}
    assert attrs["s"].string_value == "x"
    assert attrs["i"].int_value == -5
    assert attrs["f"].double_value == 1.5
    assert attrs["b"].bool_value is True
    assert [v.string_value or v.int_value for v in attrs["l"].array_value.values] == ["a", 1]
    assert attrs["d"].kvlist_value.values[0].key == "k"
    assert out.events[0].name == "exception"
    assert (out.status.code, out.status.message) == (2, "boom")


def test_redaction_happens_while_encoding() -> None:
    """Sensitive attribute values never reach the encoded bytes."""
    data = encode.traces(RES, SCOPE, [_span(password="hunter2", user="ann")], Redactor(["password"]))
    assert b"hunter2" not in data
    assert REDACTED.encode() in data


def test_logs_and_metrics_decode_with_opentelemetry_proto() -> None:
    """Log records keep severity, body, trace correlation; sums, gauges and histograms keep their points."""
    t, sid = new_trace_id(), new_span_id()
    logs = ExportLogsServiceRequest.FromString(
        encode.logs(RES, SCOPE, [(123, 17, "ERROR", "bad", t, sid, {"logger.name": "x"})], None)
    )
    rec = logs.resource_logs[0].scope_logs[0].log_records[0]
    assert (rec.time_unix_nano, rec.severity_number, rec.severity_text, rec.body.string_value) == (
        123,
        17,
        "ERROR",
        "bad",
    )
    assert rec.trace_id == t.to_bytes(16, "big")
    assert rec.span_id == sid.to_bytes(8, "big")
    items = [
        ("orders", "{order}", "counter", [({"region": "eu"}, 3)]),
        ("depth", "", "gauge", [({}, 2.5)]),
        ("latency", "ms", "histogram", [({}, [2, 7.0, 2.0, 5.0, (1.0, 5.0), [0, 2, 0]])]),
    ]
    m = ExportMetricsServiceRequest.FromString(encode.metrics(RES, SCOPE, items, 1, 2, None))
    metrics = {x.name: x for x in m.resource_metrics[0].scope_metrics[0].metrics}
    assert metrics["orders"].sum.data_points[0].as_int == 3
    assert metrics["orders"].sum.is_monotonic
    assert metrics["orders"].sum.aggregation_temporality == 1
    assert metrics["depth"].gauge.data_points[0].as_double == 2.5
    h = metrics["latency"].histogram.data_points[0]
    assert (h.count, h.sum, list(h.bucket_counts), list(h.explicit_bounds), h.min, h.max) == (
        2,
        7.0,
        [0, 2, 0],
        [1.0, 5.0],
        2.0,
        5.0,
    )


attr_values = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(
    st.text(max_size=30),
    st.dictionaries(st.text(min_size=1, max_size=10), attr_values, max_size=6),
    st.integers(0, 2**63),
)
def test_any_span_round_trips_through_zerolag_otlp(name: str, attrs: dict[str, Any], start: int) -> None:
    """Hypothesis: what the agent encodes, zerolag.otlp.protobuf decodes to the same name, ids and attributes."""  # noqa: E501
    s = Span(name, new_trace_id(), 0, True, 1, dict(attrs), start)
    s.end(start + 1)
    req = protobuf.decode("traces", encode.traces(RES, SCOPE, [s], None))
    out = req["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert out.get("name", "") == name
    assert out["traceId"] == f"{s.trace_id:032x}"
    assert out["spanId"] == f"{s.span_id:016x}"
    assert "parentSpanId" not in out or not out["parentSpanId"]
    assert [kv["key"] for kv in out.get("attributes", [])] == list(attrs)


def test_varint_matches_protobuf_for_edge_values() -> None:
    """Unsigned varints of 0, 127, 128, 2**63 and negative int64 (two's complement) are encoded correctly."""
    assert encode.varint(0) == b"\x00"
    assert encode.varint(127) == b"\x7f"
    assert encode.varint(128) == b"\x80\x01"
    assert encode.varint(-1) == b"\xff" * 9 + b"\x01"
