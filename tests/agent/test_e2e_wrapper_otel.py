"""End to end in the emulator: the exec wrapper instruments an unchanged function, and a function written
against the OpenTelemetry API has its spans in zerolag's trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_sink import Sink, children_of
from conftest import EXAMPLES, function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

TRACE = "0af7651916cd43dd8448eb211c80319c"
PARENT = "b7ad6b7169203331"


def _env(moto_url: str, sink: Sink, **extra: str) -> dict[str, str]:
    return function_env(
        moto_url,
        AWS_LAMBDA_EXEC_WRAPPER="/opt/zerolag-wrapper",
        ZEROLAG_REPORT_LOCAL="true",
        ZEROLAG_EXTENSION_PORT=str(sink.port),
        **extra,
    )


def test_exec_wrapper_instruments_a_function_without_code_change(
    agent_layer: Path, sink: Sink, moto_url: str
) -> None:
    """AWS_LAMBDA_EXEC_WRAPPER=/opt/zerolag-wrapper: a plain handler gives the invocation span continued
    from an SQS message's traceparent, its botocore and HTTP spans, and its logs; the result is unchanged."""
    event = {
        "Records": [
            {
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inbox",
                "messageAttributes": {
                    "traceparent": {"stringValue": f"00-{TRACE}-{PARENT}-01", "dataType": "String"}
                },
                "body": "{}",
            }
        ],
        "echo": "same",
        "url": sink.url + "/x",
    }
    with Sandbox(
        EXAMPLES / "no_code_change",
        "app.handler",
        layers=[agent_layer],
        env=_env(moto_url, sink),
        timeout=30,
        function_name="plain",
        freeze=False,
    ) as sb:
        result = sb.invoke(event)
        assert result.status == "success", result.body
        assert result.json() == {"ok": True, "echo": "same"}
        assert sink.wait_for(lambda s: result.request_id in s.finals())
    spans = sink.spans()
    root = next(s for s in spans if s["name"] == "plain")
    assert root["traceId"] == TRACE
    assert root["parentSpanId"] == PARENT
    assert root["_attrs"]["faas.trigger"] == "pubsub"
    assert root["_attrs"]["messaging.destination.name"] == "inbox"
    assert {"SQS.CreateQueue", "GET"} <= {s["name"] for s in children_of(spans, root)}
    bodies = {rec["body"]["stringValue"] for rec in sink.logs()}
    assert {"plain handler called", "plain print"} <= bodies


def test_exec_wrapper_keeps_the_handlers_exception(agent_layer: Path, sink: Sink, moto_url: str) -> None:
    """Through the wrapper, a handler exception reaches the runtime unchanged and the span records it."""
    with Sandbox(
        EXAMPLES / "no_code_change",
        "app.handler",
        layers=[agent_layer],
        env=_env(moto_url, sink),
        timeout=30,
        function_name="plain",
        freeze=False,
    ) as sb:
        result = sb.invoke({"fail": True})
        assert result.status == "error"
        assert result.error_type == "ValueError"
        assert result.json()["errorMessage"] == "plain failure"
        assert sink.wait_for(lambda s: result.request_id in s.finals())
    root = next(s for s in sink.spans() if s["name"] == "plain")
    assert root["status"]["code"] == 2
    events = root.get("events", [])
    assert any(e["name"] == "exception" for e in events)


def test_exec_wrapper_reports_a_missing_module_like_the_runtime(
    agent_layer: Path, sink: Sink, moto_url: str
) -> None:
    """A bad original handler gives the runtime's own Runtime.ImportModuleError, naming the user's module."""
    with Sandbox(
        EXAMPLES / "no_code_change",
        "nosuchmodule.handler",
        layers=[agent_layer],
        env=_env(moto_url, sink),
        timeout=30,
        function_name="plain",
        freeze=False,
    ) as sb:
        result = sb.invoke({})
    assert result.error_type == "Runtime.ImportModuleError"
    assert "nosuchmodule" in result.body.decode()


def test_opentelemetry_api_spans_join_the_invocation_trace(
    agent_layer: Path, otel_layer: Path, sink: Sink, moto_url: str
) -> None:
    """A function using the OpenTelemetry API (no zerolag code, exec wrapper) has its OTel spans as
    children of zerolag's invocation span, in the trace continued from the incoming traceparent."""
    event = {
        "headers": {"traceparent": f"00-{TRACE}-{PARENT}-01"},
        "httpMethod": "GET",
        "path": "/",
        "requestContext": {},
    }
    with Sandbox(
        EXAMPLES / "otel_api",
        "app.handler",
        layers=[otel_layer, agent_layer],
        env=_env(moto_url, sink),
        timeout=30,
        function_name="shop",
        freeze=False,
    ) as sb:
        result = sb.invoke(event)
        assert result.status == "success", result.body
        assert sink.wait_for(lambda s: result.request_id in s.finals())
    spans = {s["name"]: s for s in sink.spans()}
    assert {s["traceId"] for s in spans.values()} == {TRACE}
    assert spans["shop"]["parentSpanId"] == PARENT
    assert spans["otel-parent"]["parentSpanId"] == spans["shop"]["spanId"]
    assert spans["otel-child"]["parentSpanId"] == spans["otel-parent"]["spanId"]
    assert spans["otel-child"]["kind"] == 3
    assert spans["otel-parent"]["_attrs"]["shop.cart"] == 3


def test_decorated_function_through_the_wrapper_is_wrapped_once(
    agent_layer: Path, sink: Sink, moto_url: str
) -> None:
    """The full example (already decorated) deployed with the exec wrapper: the same result and exactly one
    invocation span per invocation, with its AWS SDK spans under it."""
    with Sandbox(
        EXAMPLES / "full_function",
        "app.handler",
        layers=[agent_layer],
        env=_env(moto_url, sink),
        timeout=30,
        function_name="orders",
        freeze=False,
    ) as sb:
        result = sb.invoke({"order_id": "o-3"})
        assert result.status == "success", result.body
        assert result.json()["statusCode"] == 200
        assert sink.wait_for(lambda s: result.request_id in s.finals())
    spans = sink.spans()
    roots = [s for s in spans if s["name"] == "orders"]
    assert len(roots) == 1
    assert {"SQS.SendMessage", "S3.PutObject", "validate"} <= {
        s["name"] for s in children_of(spans, roots[0])
    }
