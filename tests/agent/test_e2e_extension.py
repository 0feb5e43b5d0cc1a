"""The whole road in the emulator, with freezing on: agent -> zerolag extension (from the real layer build)
-> OTLP backend. The extension holds the invocation until the agent's final batch, so nothing is lost to
the freeze."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from agent_sink import Sink
from conftest import EXAMPLES, function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

TRACE = "5759e988bd862e3fe1be46a994272793"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def zerolag_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = pytest.importorskip("zerolag.layer.build")
    return Path(build.build_layer_tree(tmp_path_factory.mktemp("zl") / "layer"))


def test_agent_through_the_extension_to_a_backend(zerolag_layer: Path, sink: Sink, moto_url: str) -> None:
    """With the zerolag layer and the exec wrapper, an unchanged function's trace (continued from X-Ray)
    reaches the backend through the extension, complete, on every invocation, with freezing on."""
    env = function_env(
        moto_url,
        AWS_LAMBDA_EXEC_WRAPPER="/opt/zerolag-wrapper",
        ZEROLAG_OTLP_ENDPOINT=sink.url,
        ZEROLAG_EXTENSION_PORT=str(_free_port()),
    )
    xray = f"Root=1-{TRACE[:8]}-{TRACE[8:]};Parent=53995c3f42cd8ad8;Sampled=1"
    with Sandbox(
        EXAMPLES / "no_code_change",
        "app.handler",
        layers=[zerolag_layer],
        env=env,
        timeout=30,
        function_name="plain",
    ) as sb:
        results = [sb.invoke({"echo": i}, trace_id=xray) for i in range(2)]
        for i, result in enumerate(results):
            assert result.status == "success", (result.body, [line.text for line in sb.logs][-30:])
            assert result.json() == {"ok": True, "echo": i}
    # After shutdown the extension has flushed everything it holds.

    def complete(s: Sink) -> bool:
        return [sp["name"] for sp in s.spans()].count("SQS.CreateQueue") >= 2

    assert sink.wait_for(complete, timeout=60)
    spans = sink.spans()
    by_id = {s["spanId"]: s for s in spans}
    sdk_calls = [s for s in spans if s["name"] == "SQS.CreateQueue"]
    roots = {by_id[c["parentSpanId"]]["spanId"]: by_id[c["parentSpanId"]] for c in sdk_calls}
    assert len(roots) == 2
    for root in roots.values():
        assert root["name"] == "plain"
        assert root["traceId"] == TRACE
        assert root["_attrs"]["faas.invocation_id"] in {r.request_id for r in results}
