"""The OTLP/JSON codec: canonical output, lenient validated input, agreement with protobuf."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from otlp_strategies import official_class, request, to_official

from zerolag.otlp import SIGNALS, OtlpDecodeError, jsoncodec
from zerolag.otlp import protobuf as pb

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# An OTLP/JSON request as the OTel Collector and the OTLP/HTTP JSON exporters write it: hex ids,
# 64-bit integers as strings, enums as numbers (after the example in opentelemetry-proto/examples).
COLLECTOR_TRACE_JSON = b"""{
  "resourceSpans": [{
    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "my.service"}}]},
    "scopeSpans": [{
      "scope": {"name": "my.library", "version": "1.0.0",
                "attributes": [{"key": "my.scope.attribute", "value": {"stringValue": "scoped"}}]},
      "spans": [{
        "traceId": "5B8EFFF798038103D269B633813FC60C",
        "spanId": "EEE19B7EC3C1B174",
        "parentSpanId": "EEE19B7EC3C1B173",
        "name": "I'm a server span",
        "startTimeUnixNano": "1544712660000000000",
        "endTimeUnixNano": "1544712661000000000",
        "kind": 2,
        "attributes": [
          {"key": "my.span.attr", "value": {"stringValue": "some value"}},
          {"key": "count", "value": {"intValue": "42"}},
          {"key": "ratio", "value": {"doubleValue": 0.5}},
          {"key": "tags", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"boolValue": true}]}}}
        ],
        "status": {"code": 2, "message": "boom"},
        "someFutureField": {"ignored": true}
      }]
    }]
  }]
}"""


def test_loads_collector_style_json() -> None:
    """Hex ids (any case), string int64s and unknown fields load into the canonical dict form."""
    req = jsoncodec.loads("traces", COLLECTOR_TRACE_JSON)
    span = req["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert span["traceId"] == "5b8efff798038103d269b633813fc60c"
    assert span["parentSpanId"] == "eee19b7ec3c1b173"
    assert span["startTimeUnixNano"] == 1544712660000000000
    assert span["attributes"][1] == {"key": "count", "value": {"intValue": 42}}
    assert span["status"] == {"code": 2, "message": "boom"}
    assert "someFutureField" not in span
    official = official_class("traces").FromString(pb.encode("traces", req))
    assert official.resource_spans[0].scope_spans[0].spans[0].trace_id.hex() == span["traceId"]


@pytest.mark.parametrize("signal", SIGNALS)
def test_dumps_loads_roundtrip(signal: str) -> None:
    """dumps then loads gives back the same canonical dict; dumps writes 64-bit integers as strings."""

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        text = jsoncodec.dumps(req)
        assert jsoncodec.loads(signal, text) == req
        json.loads(text)  # strict JSON: no NaN/Infinity literals

    check()


@pytest.mark.parametrize("signal", SIGNALS)
def test_loads_official_json_format_output(signal: str) -> None:
    """protobuf's own MessageToJson output (base64 ids, enum names, string int64s) loads to the same dict."""
    from google.protobuf.json_format import MessageToJson

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        assert jsoncodec.loads(signal, MessageToJson(to_official(signal, req)).encode()) == req

    check()


def test_enum_names_and_special_doubles_are_accepted() -> None:
    """Enum names, integers as strings or integral floats, and "NaN"/"Infinity" strings are accepted."""
    doc = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {
                        "metrics": [
                            {
                                "name": "m",
                                "sum": {
                                    "aggregationTemporality": "AGGREGATION_TEMPORALITY_DELTA",
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {"asDouble": "Infinity", "timeUnixNano": 5.0, "flags": "1"}
                                    ],
                                },
                            }
                        ]
                    }
                ]
            }
        ]
    }
    req = jsoncodec.loads("metrics", json.dumps(doc))
    metric_sum = req["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]
    assert metric_sum["aggregationTemporality"] == 1
    assert metric_sum["dataPoints"] == [{"asDouble": math.inf, "timeUnixNano": 5, "flags": 1}]
    assert b'"asDouble":"Infinity"' in jsoncodec.dumps(req)


@pytest.mark.parametrize(
    "span",
    [
        {"traceId": "xyz"},
        {"traceId": "00" * 15},
        {"spanId": "zz" * 8},
        {"startTimeUnixNano": "12a"},
        {"startTimeUnixNano": -1},
        {"startTimeUnixNano": 2**64},
        {"kind": "SPAN_KIND_NOPE"},
        {"kind": True},
        {"name": 5},
        {"attributes": {"key": "x"}},
        {"attributes": [{"key": "x", "value": {"boolValue": "yes"}}]},
        {"attributes": [{"key": "x", "value": {"bytesValue": "!!!"}}]},
        {"attributes": [{"key": "x", "value": {"stringValue": "a", "intValue": 1}}]},
        {"status": []},
        {"events": [{"timeUnixNano": 1.5}]},
    ],
)
def test_loads_rejects_invalid_values(span: dict) -> None:
    """Each invalid span field raises OtlpDecodeError."""
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    with pytest.raises(OtlpDecodeError):
        jsoncodec.loads("traces", json.dumps(doc))


@pytest.mark.parametrize("data", [b"", b"{", b"[]", b"\xff\xfe", b'{"resourceSpans": 5}', b"[" * 100000])
def test_loads_rejects_non_requests(data: bytes) -> None:
    """Invalid JSON, non-objects, wrong shapes and absurd nesting raise OtlpDecodeError."""
    with pytest.raises(OtlpDecodeError):
        jsoncodec.loads("traces", data)
