"""The telemetry plugin in-process: real ExtensionContext and HTTP listener, a loopback Telemetry API."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from typing import Any

import pytest
from telemetry_samples import RID, body, init_events, invoke_events

from zerolag.extension import telemetry
from zerolag.extension.config import ExtensionConfig
from zerolag.extension.context import ExtensionContext
from zerolag.extension.telemetry import service
from zerolag.otlp import protobuf


class RecordingPipeline:
    """The pipeline seam (submit, runtime_done, expect_runtime_done, counters), recording what it gets."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.submitted: list[tuple[str, bytes, int, str | None]] = []
        self.done: list[str] = []
        self.expects = False
        self.counters = self
        self.counts: Counter[str] = Counter()

    def submit(self, signal: str, data: bytes, items: int, request_id: str | None = None) -> None:
        with self.cond:
            self.submitted.append((signal, data, items, request_id))
            self.cond.notify_all()

    def runtime_done(self, request_id: str) -> None:
        with self.cond:
            self.done.append(request_id)
            self.cond.notify_all()

    def expect_runtime_done(self, expect: bool = True) -> None:
        self.expects = expect

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n


ENV = {
    "AWS_LAMBDA_FUNCTION_NAME": "fn",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_REGION": "eu-west-1",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
}


def _context(api: Any, pipeline: RecordingPipeline, env: dict[str, str] | None = None) -> ExtensionContext:
    return ExtensionContext(
        ExtensionConfig(),
        env=env or ENV,
        extension_id="ext-id",
        runtime_api=api.address,
        pipeline=pipeline,  # type: ignore[arg-type]
    )


def _post(port: int, data: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", "/", body=data, headers={"Content-Type": "application/json"})
        return conn.getresponse().status
    finally:
        conn.close()


def _traces(pipeline: RecordingPipeline) -> list[dict[str, Any]]:
    return [protobuf.decode("traces", d) for s, d, _, _ in pipeline.submitted if s == "traces"]


def _spans(traces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [sp for t in traces for rs in t["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]]


@pytest.fixture(autouse=True)
def _no_active_service() -> Any:
    yield
    service._active = None


def test_service_subscribes_listens_and_hands_protobuf_to_the_pipeline(api_factory: Any) -> None:
    """Deliveries POSTed to the listener become protobuf submissions; runtimeDone reaches the pipeline."""
    api = api_factory({"2025-01-29"})
    pipeline = RecordingPipeline()
    ctx = _context(api, pipeline)
    try:
        telemetry.start(ctx)
        uri = api.bodies[0]["destination"]["URI"]
        assert uri.startswith("http://sandbox.localdomain:")
        port = int(uri.rsplit(":", 1)[1])
        assert pipeline.expects  # wait for an agent from the first invocation on
        ctx.run_event_hooks({"eventType": "INVOKE", "requestId": RID, "invokedFunctionArn": "arn:x"})
        assert _post(port, body(init_events() + invoke_events())) == 200
        assert _post(port, b"not json") == 200
        ctx.run_shutdown_hooks(time.monotonic() + 1.0)  # the last invocation ends at SHUTDOWN
        signals = sorted({s for s, *_ in pipeline.submitted})
        assert signals == ["logs", "metrics", "traces"]
        assert pipeline.done == [RID]
        assert all(r == RID for *_, r in pipeline.submitted)
        traces = [protobuf.decode("traces", d) for s, d, _, _ in pipeline.submitted if s == "traces"]
        spans = [
            sp for t in traces for rs in t["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]
        ]
        assert {sp["name"] for sp in spans} == {"fn", "fn init"}
        resource = traces[0]["resourceSpans"][0]["resource"]["attributes"]
        assert {"key": "cloud.region", "value": {"stringValue": "eu-west-1"}} in resource
        assert pipeline.counts["telemetry_bad_batches"] == 1
        telemetry.note_agent_data(RID, "logs", b"", True)
        assert pipeline.expects  # an agent reports: wait for its final batch from now on
    finally:
        for server in ctx.servers:
            server.close()


def test_shutdown_hook_finalizes_the_open_invocation_as_timeout(api_factory: Any) -> None:
    """SHUTDOWN(timeout) with no report: the hook emits the error span within its bounded wait."""
    api = api_factory({"2022-07-01"})
    pipeline = RecordingPipeline()
    ctx = _context(api, pipeline)
    try:
        telemetry.start(ctx)
        port = int(api.bodies[-1]["destination"]["URI"].rsplit(":", 1)[1])
        ctx.run_event_hooks({"eventType": "INVOKE", "requestId": RID})
        assert _post(port, body(invoke_events()[:2])) == 200
        ctx.run_event_hooks({"eventType": "SHUTDOWN", "shutdownReason": "timeout"})
        ctx.run_shutdown_hooks(time.monotonic() + 0.3)
        traces = [protobuf.decode("traces", d) for s, d, _, _ in pipeline.submitted if s == "traces"]
        (span,) = [
            sp for t in traces for rs in t["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]
        ]
        assert span["status"]["code"] == 2
        assert json.dumps(span).count("Sandbox.Timedout") >= 1
    finally:
        for server in ctx.servers:
            server.close()


def test_refused_subscription_is_logged_counted_and_the_extension_goes_on(
    api_factory: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """RIE-style refusal: a clear warning, a counter, no hooks, no exception."""
    api = api_factory(set(), rie_stub=True)
    pipeline = RecordingPipeline()
    ctx = _context(api, pipeline)
    try:
        telemetry.start(ctx)
        assert "Telemetry API subscription refused" in caplog.text
        assert "Telemetry.NotSupported" in caplog.text
        assert pipeline.counts["telemetry_subscription_refused"] == 1
        assert ctx.event_hooks == []
        assert not pipeline.expects
        telemetry.note_agent_data(RID, "traces", b"", True)  # a no-op without a subscription
    finally:
        for server in ctx.servers:
            server.close()


def test_switch_off_does_not_subscribe(api_factory: Any) -> None:
    """ZEROLAG_TELEMETRY=false: no PUT at all."""
    api = api_factory({"2025-01-29"})
    pipeline = RecordingPipeline()
    ctx = _context(api, pipeline, {**ENV, "ZEROLAG_TELEMETRY": "false"})
    telemetry.start(ctx)
    assert api.bodies == []
    assert ctx.servers == []


def test_extension_stops_waiting_after_agentless_invocations_and_resumes_for_an_agent(
    api_factory: Any,
) -> None:
    """Three invocations with no agent data: no more holding /event/next. An agent's data turns it back on;
    then runtimeDone of an invocation the agent has not handed over reaches the pipeline after a grace."""
    api = api_factory({"2025-01-29"})
    pipeline = RecordingPipeline()
    ctx = _context(api, pipeline)
    rids = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(5)]
    try:
        telemetry.start(ctx)
        port = int(api.bodies[0]["destination"]["URI"].rsplit(":", 1)[1])
        for i, rid in enumerate(rids[:3]):
            assert pipeline.expects
            assert _post(port, body(invoke_events(rid=rid, at=100 + 100 * i, init_ms=None))) == 200
        assert not pipeline.expects  # three invocations ended with no agent data at all
        telemetry.note_agent_data(rids[4], "traces", b"", False)
        assert pipeline.expects
        assert _post(port, body(invoke_events(rid=rids[4], at=900, init_ms=None)[:-1])) == 200
        assert rids[4] not in pipeline.done  # held back: the agent may still be exporting
        with pipeline.cond:
            assert pipeline.cond.wait_for(lambda: rids[4] in pipeline.done, timeout=30)
    finally:
        for server in ctx.servers:
            server.close()
