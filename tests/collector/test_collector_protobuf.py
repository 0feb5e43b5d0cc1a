"""The collector decodes protobuf with the official generated OTLP classes (``otlp_pb``): its rows must be
exactly those of the reference path (zerolag's own decoder, then ``records``) for every kind of content."""

from __future__ import annotations

import base64

import pytest
from collector_payloads import T0, attrs, function_logs, invocation_trace, platform_metrics

from zerolag.collector import otlp_pb, records
from zerolag.otlp import OtlpDecodeError, protobuf


def odd_trace() -> dict:
    request = invocation_trace("fn", "r-odd", status="error", error_type="KeyError")
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[1]["attributes"] += [
        {"key": "nested", "value": {"kvlistValue": {"values": attrs({"a": 1, "b": "x", "c": 1.5})}}},
        {"key": "list", "value": {"arrayValue": {"values": [{"intValue": -(2**63)}, {"boolValue": False}]}}},
        {"key": "raw", "value": {"bytesValue": base64.b64encode(b"\x00\xff").decode()}},
        {"key": "empty", "value": {}},
        {"key": "unicode", "value": {"stringValue": "é ✓ 😀 \x00"}},
    ]
    spans[1]["links"] = [{"traceId": "ab" * 16, "spanId": "cd" * 8}]
    spans[1]["startTimeUnixNano"] = 2**64 - 1  # past int64: clamped
    spans[2]["status"] = {"code": 1}
    return request


@pytest.mark.parametrize(
    "request_",
    [
        invocation_trace("api", "r1", cold_start=True),
        invocation_trace("slow", "r2", status="timeout", error_type="Sandbox.Timedout"),
        odd_trace(),
        {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "01" * 16, "spanId": "02" * 8}]}]}]},
        {"resourceSpans": []},
    ],
)
def test_trace_rows_match_the_reference_decoder(request_) -> None:
    data = protobuf.encode("traces", request_)
    expected = records.trace_rows(protobuf.decode("traces", data), T0)
    for got in (otlp_pb.trace_rows(data, T0), records.trace_rows(otlp_pb.decode("traces", data), T0)):
        assert got.spans == expected.spans
        assert got.events == expected.events
        assert got.invocations == expected.invocations


def test_metric_and_log_rows_match_the_reference_decoder() -> None:
    metrics = protobuf.encode("metrics", platform_metrics("api", "r1", billed_ms=21, init_ms=180))
    logs = protobuf.encode("logs", function_logs("api", "r1", ["a", "b\x00c"]))
    m_expected = records.metric_rows(protobuf.decode("metrics", metrics), T0)
    m_got = records.metric_rows(otlp_pb.decode("metrics", metrics), T0)
    assert m_got.points == m_expected.points
    assert m_got.invocations == m_expected.invocations
    assert (
        records.log_rows(otlp_pb.decode("logs", logs), T0).logs
        == records.log_rows(protobuf.decode("logs", logs), T0).logs
    )


@pytest.mark.parametrize("data", [b"\xff", b"\x0a\x05\x0a\x03", b"\x0a\x02\x0a\xff"])
def test_malformed_protobuf_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(OtlpDecodeError):
        otlp_pb.trace_rows(data, T0)
    with pytest.raises(OtlpDecodeError):
        otlp_pb.decode("logs", data)
