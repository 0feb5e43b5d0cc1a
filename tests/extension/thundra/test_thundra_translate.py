"""Thundra payloads → OTLP: the captured samples parse with the official protobuf messages, structure kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.thundra.translate import ThundraError, span_id, trace_id, translate
from zerolag.otlp import protobuf

DATA = Path(__file__).parent / "data"
COMPOSITE = DATA / "composite-monitoring-data-2.7.4.json"
ARRAY = DATA / "monitoring-data-3.0.10.json"
RID = "11111111-2222-3333-4444-555555555555"


def _with_child(path: Path) -> bytes:
    """The sample plus one child span under the root span, and an erroneous child."""
    doc = json.loads(path.read_text())
    records = doc["data"]["allMonitoringData"] if isinstance(doc, dict) else [e["data"] for e in doc]
    root = next(r for r in records if r["type"] == "Span")
    child = dict(root, id="aaaaaaaa-0000-4000-8000-000000000001", parentSpanId=root["id"], operationName="db")
    child["tags"] = {"db.type": "dynamodb", "error": True, "error.kind": "Boom", "error.message": "bad"}
    child["logs"] = [{"timestamp": root["startTimestamp"], "name": "retry"}]
    if isinstance(doc, list):
        doc.append({"type": "Span", "data": child, "apiKey": "fake-api-key-123", "dataModelVersion": "2.0"})
    else:
        records.append(child)
    return json.dumps(doc).encode()


def _parse(signal: str, request: dict[str, Any]) -> Any:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    cls = {
        "traces": ExportTraceServiceRequest,
        "metrics": ExportMetricsServiceRequest,
        "logs": ExportLogsServiceRequest,
    }
    return cls[signal].FromString(protobuf.encode(signal, request))  # type: ignore[arg-type]


@pytest.mark.parametrize("path", [COMPOSITE, ARRAY], ids=["composite-2.7.4", "array-3.0.10"])
def test_sample_payloads_parse_with_official_messages_and_keep_parent_child(path: Path) -> None:
    """Invocation → one SERVER span, its child keeps the link; logs and metrics parse as OTLP."""
    out = translate(_with_child(path), {"cloud.provider": "aws"})
    assert out.request_ids == [RID]
    traces = _parse("traces", out.traces or {})
    spans = [s for rs in traces.resource_spans for ss in rs.scope_spans for s in ss.spans]
    server = [s for s in spans if s.kind == ob.SPAN_KIND_SERVER]
    children = [s for s in spans if s.kind != ob.SPAN_KIND_SERVER]
    assert len(server) == 1
    assert len(children) == 1
    assert children[0].parent_span_id == server[0].span_id
    assert children[0].trace_id == server[0].trace_id
    assert children[0].status.code == ob.STATUS_ERROR
    assert children[0].events[0].name == "retry"
    assert server[0].name == "thundra-compat-test"
    attrs = {kv.key: kv.value for kv in server[0].attributes}
    assert attrs["faas.invocation_id"].string_value == RID
    assert attrs["faas.coldstart"].bool_value is True
    logs = _parse("logs", out.logs or {})
    (log,) = [r for rl in logs.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    assert log.body.string_value == "user print line"
    assert log.severity_number == 9
    assert log.span_id == server[0].span_id
    metrics = _parse("metrics", out.metrics or {})
    names = {m.name for rm in metrics.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {"thundra.threadCount", "thundra.app.usedMemory", "thundra.generation0Collections"} <= names


@pytest.mark.parametrize("path", [COMPOSITE, ARRAY], ids=["composite-2.7.4", "array-3.0.10"])
def test_api_key_never_reaches_the_otlp_output(path: Path) -> None:
    """The agent's apiKey appears nowhere in what is forwarded."""
    out = translate(path.read_bytes(), {})
    dumped = json.dumps([out.traces, out.metrics, out.logs])
    assert "fake-api-key-123" not in dumped
    assert "apiKey" not in dumped


def test_timeout_invocation_has_error_status() -> None:
    """An Invocation with timeout=true becomes a SERVER span with error status and a timeout error type."""
    doc = json.loads(COMPOSITE.read_text())
    inv = next(r for r in doc["data"]["allMonitoringData"] if r["type"] == "Invocation")
    inv["timeout"] = True
    out = translate(json.dumps(doc).encode(), {})
    server = next(s for s in ob.items_of("traces", out.traces or {}) if s["kind"] == ob.SPAN_KIND_SERVER)
    assert server["status"]["code"] == ob.STATUS_ERROR
    assert any(a["key"] == "error.type" for a in server["attributes"])


def test_ids_map_deterministically() -> None:
    """The same UUID gives the same OTLP id; a UUID trace id keeps its 16 bytes."""
    assert trace_id("80d3bb35-29f4-4739-aa0e-aad3247355b0") == "80d3bb3529f44739aa0eaad3247355b0"
    assert span_id("6d96ca8d-8940-4225-bb23-3df24ce5be94") == span_id("6d96ca8d-8940-4225-bb23-3df24ce5be94")
    assert len(span_id("x")) == 16
    assert len(trace_id("not a uuid")) == 32
    assert span_id("") == ""


@pytest.mark.parametrize("body", [b"", b"{", b"null", b"42", b'"s"', b'{"data": 1}', b"\xff\xfe"])
def test_malformed_bodies_raise_thundra_error_only(body: bytes) -> None:
    """A body that is not a Thundra payload raises ThundraError (the server counts it), nothing else."""
    with pytest.raises(ThundraError):
        translate(body, {})


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.sampled_from(["type", "data", "x"]), c),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_raises_anything_but_thundra_error(doc: object) -> None:
    """Any JSON document either translates or raises ThundraError."""
    try:
        translate(json.dumps(doc).encode(), {})
    except ThundraError:
        pass
