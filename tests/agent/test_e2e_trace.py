"""End to end in the emulator with the real awslambdaric: one complete trace per invocation at an OTLP
endpoint standing in for the extension (X-Zerolag-* headers), with correct parentage, continued trace ids,
botocore calls against moto's server, HTTP calls, logs, custom spans and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_sink import Sink, children_of
from conftest import EXAMPLES, function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def _by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in spans}


def _run(layer: Path, sink: Sink, moto_url: str, event: dict[str, Any], trace_id: str | None = None) -> Any:
    env = function_env(moto_url, ZEROLAG_REPORT_LOCAL="true", ZEROLAG_EXTENSION_PORT=str(sink.port))
    with Sandbox(
        EXAMPLES / "full_function",
        "app.handler",
        layers=[layer],
        env=env,
        timeout=30,
        function_name="orders",
        freeze=False,
    ) as sb:
        result = sb.invoke(event, trace_id=trace_id)
        assert result.status == "success", (result.body, [line.text for line in sb.logs][-20:])
        assert sink.wait_for(lambda s: result.request_id in s.finals())
        return result, sb


def test_full_function_gives_one_complete_trace_continued_from_traceparent(
    agent_layer: Path, sink: Sink, moto_url: str
) -> None:
    """An API Gateway event with a traceparent header gives one trace under that parent: the invocation span
    with FaaS attributes, custom spans, botocore spans with AWS request ids and an HTTP client span."""
    event = {
        "version": "2.0",
        "routeKey": "POST /orders",
        "rawPath": "/orders",
        "headers": {"traceparent": f"00-{TRACE}-{PARENT}-01", "authorization": "Bearer s3cr3t"},
        "requestContext": {"http": {"method": "POST", "path": "/orders"}, "domainName": "api.example.com"},
        "order_id": "o-1",
        "items": 2,
        "url": sink.url + "/ping",
    }
    result, _ = _run(agent_layer, sink, moto_url, event)
    assert result.json()["statusCode"] == 200
    spans = sink.spans()
    assert {s["traceId"] for s in spans} == {TRACE}
    names = _by_name(spans)
    root = names["orders"]
    assert root["parentSpanId"] == PARENT
    attrs = root["_attrs"]
    assert attrs["faas.trigger"] == "http"
    assert attrs["faas.coldstart"] is True
    assert attrs["faas.invocation_id"] == result.request_id
    assert attrs["aws.lambda.event_source"] == "aws:apigateway:v2"
    assert attrs["http.request.header.authorization"] == "[REDACTED]"
    assert attrs["http.response.status_code"] == 200
    assert root["_resource"]["service.name"] == "orders"
    children = {s["name"] for s in children_of(spans, root)}
    assert {
        "validate",
        "price",
        "SQS.CreateQueue",
        "SQS.SendMessage",
        "S3.CreateBucket",
        "S3.PutObject",
        "GET",
    } <= children
    send = names["SQS.SendMessage"]
    assert send["_attrs"]["rpc.system"] == "aws-api"
    assert send["_attrs"]["cloud.region"] == "us-east-1"
    assert send["_attrs"]["aws.request_id"]
    assert send["_attrs"]["messaging.destination.name"] == "orders"
    assert names["GET"]["_attrs"]["http.response.status_code"] == 200
    logs = sink.logs()
    bodies = {rec["body"]["stringValue"]: rec for rec in logs}
    assert "order received: 2 items" in bodies
    assert "processing order o-1" in bodies
    assert bodies["order received: 2 items"]["traceId"] == TRACE
    metric_names = {m["name"] for m in sink.metrics()}
    assert {"orders.placed", "orders.total", "faas.invocations", "faas.coldstarts"} <= metric_names


def test_trace_is_continued_from_xray(agent_layer: Path, sink: Sink, moto_url: str) -> None:
    """With no traceparent in the event, the X-Ray trace header of the invocation gives trace and parent."""
    xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    _run(agent_layer, sink, moto_url, {"order_id": "o-2"}, trace_id=xray)
    root = _by_name(sink.spans())["orders"]
    assert root["traceId"] == "5759e988bd862e3fe1be46a994272793"
    assert root["parentSpanId"] == "53995c3f42cd8ad8"
    assert all(s["traceId"] == root["traceId"] for s in sink.spans())
