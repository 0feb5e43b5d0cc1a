"""Failure cases end to end in the emulator: a dead or hanging endpoint never changes the handler's result
nor holds it past its deadline; a timeout still reports what happened before it."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from agent_sink import HangingServer, Sink
from conftest import EXAMPLES, function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sandbox(layer: Path, moto_url: str, timeout: float = 20, **env: str) -> Sandbox:
    full_env = function_env(moto_url, AWS_LAMBDA_EXEC_WRAPPER="/opt/zerolag-wrapper", **env)
    return Sandbox(
        EXAMPLES / "no_code_change",
        "app.handler",
        layers=[layer],
        env=full_env,
        timeout=timeout,
        function_name="plain",
        freeze=False,
    )


def test_extension_down_leaves_the_result_unchanged(agent_layer: Path, moto_url: str) -> None:
    """Nothing listens on the extension port: every invocation still succeeds with the same result."""
    with _sandbox(
        agent_layer, moto_url, ZEROLAG_REPORT_LOCAL="true", ZEROLAG_EXTENSION_PORT=str(_free_port())
    ) as sb:
        for i in range(3):
            result = sb.invoke({"echo": i})
            assert result.status == "success"
            assert result.json() == {"ok": True, "echo": i}


def test_hanging_extension_does_not_hold_the_handler(
    agent_layer: Path, moto_url: str, hanging: HangingServer
) -> None:
    """The extension port accepts connections but never answers: invocations finish well within a
    deadline that a blocking send would blow (the send happens on the agent's worker thread)."""
    with _sandbox(
        agent_layer,
        moto_url,
        timeout=5,
        ZEROLAG_REPORT_LOCAL="true",
        ZEROLAG_EXTENSION_PORT=str(hanging.port),
        ZEROLAG_EXPORT_TIMEOUT_MS="60000",
    ) as sb:
        for i in range(3):
            result = sb.invoke({"echo": i})
            assert result.status == "success", result.body
            assert result.json() == {"ok": True, "echo": i}


def test_hanging_backend_is_bounded_by_the_export_timeout(
    agent_layer: Path, moto_url: str, hanging: HangingServer
) -> None:
    """The direct (synchronous) exporter to a hanging backend: the export gives up after its timeout, so
    the invocation ends before its deadline with the handler's result; the breaker then skips it."""
    with _sandbox(
        agent_layer,
        moto_url,
        timeout=8,
        ZEROLAG_REPORT_LOCAL="false",
        ZEROLAG_OTLP_ENDPOINT=f"http://127.0.0.1:{hanging.port}",
        ZEROLAG_EXPORT_TIMEOUT_MS="500",
    ) as sb:
        for i in range(2):
            result = sb.invoke({"echo": i})
            assert result.status == "success", result.body
            assert result.json() == {"ok": True, "echo": i}


def test_timeout_still_reports_what_happened_before_it(agent_layer: Path, moto_url: str, sink: Sink) -> None:
    """A handler that overruns its 3 s timeout: a margin before the deadline the agent reports the open
    invocation span with a timeout marker, the botocore span and the log line written before."""
    with _sandbox(
        agent_layer,
        moto_url,
        timeout=3,
        ZEROLAG_REPORT_LOCAL="true",
        ZEROLAG_EXTENSION_PORT=str(sink.port),
        ZEROLAG_TIMEOUT_MARGIN_MS="500",
    ) as sb:
        result = sb.invoke({"sleep": 60})
        assert result.status == "timeout"
        assert sink.wait_for(lambda s: result.request_id in s.finals())
    spans = {s["name"]: s for s in sink.spans()}
    root = spans["plain"]
    assert root["_attrs"]["zerolag.timeout"] is True
    assert root["status"]["code"] == 2
    assert spans["SQS.CreateQueue"]["parentSpanId"] == root["spanId"]
    assert "plain handler called" in {rec["body"]["stringValue"] for rec in sink.logs()}
    assert "faas.timeouts" in {m["name"] for m in sink.metrics()}
