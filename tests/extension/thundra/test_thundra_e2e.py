"""End to end: the unmodified thundra 2.7.4 agent (THUNDRA_AGENT_REPORT_REST_LOCAL=true) in a function in the
emulator, with the zerolag layer; its data reaches the OTLP backend with the parent/child structure kept."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "telemetry"))
from e2e_support import (
    THUNDRA_LAYER,
    attrs,
    base_env,
    otlp_backend,
    port_is_free,
    write_code,
)

pytestmark = pytest.mark.e2e

THUNDRA_DEFAULT_PORT = 3333
APP = """
from thundra.opentracing.tracer import ThundraTracer

def handler(event, context):
    print("thundra says hi")
    with ThundraTracer.get_instance().start_active_span(operation_name="work", finish_on_close=True) as scope:
        scope.span.set_tag("step", "one")
    return {"ok": True}
"""
# Only when port 3333 is taken on this shared machine: the agent's fixed local endpoint is pointed at the
# extension's configured port. The agent's code is untouched; only its module constant is set.
SHIM = """
import os
import thundra.constants
thundra.constants.LOCAL_COLLECTOR_ENDPOINT = "localhost:" + os.environ["ZEROLAG_THUNDRA_PORT"]
from thundra.handler import wrapper
"""


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from zerolag.layer.build import build_layer_tree

    return build_layer_tree(tmp_path_factory.mktemp("zerolag-layer") / "opt")


def test_unmodified_thundra_agent_reaches_the_otlp_backend(tmp_path: Path, layer: Path) -> None:
    """Thundra's Invocation becomes a SERVER span with its child span linked; the API key goes nowhere."""
    from zerolag.emulator import Sandbox

    code = write_code(tmp_path / "code", APP)
    handler = "thundra.handler.wrapper"
    with otlp_backend() as backend:
        env = base_env(
            backend,
            THUNDRA_APIKEY="thundra-secret-key-123",
            THUNDRA_AGENT_REPORT_REST_LOCAL="true",
            THUNDRA_AGENT_LAMBDA_HANDLER="app.handler",
        )
        if port_is_free(THUNDRA_DEFAULT_PORT):
            env["ZEROLAG_THUNDRA_PORT"] = str(THUNDRA_DEFAULT_PORT)
        else:
            (code / "shim.py").write_text(SHIM, encoding="utf-8")
            handler = "shim.wrapper"
        with Sandbox(
            code=str(code),
            handler=handler,
            layers=[str(layer), str(THUNDRA_LAYER)],
            env=env,
            timeout=15.0,
            function_name="thundra-fn",
        ) as sb:
            results: list[Any] = [sb.invoke({"x": i}) for i in range(2)]
            sb.shutdown()
        assert [r.status for r in results] == ["success", "success"]
        rids = {r.request_id for r in results}

        def servers() -> list[Any]:
            spans = [s for s in backend.spans() if s.kind == 2 and "thundra.transaction_id" in attrs(s)]
            return [s for s in spans if attrs(s).get("faas.invocation_id") in rids]

        assert backend.wait_for(lambda: len(servers()) == 2, timeout=60)
        for server in servers():
            children = [s for s in backend.spans() if s.parent_span_id == server.span_id and s.name == "work"]
            assert len(children) == 1
            assert children[0].trace_id == server.trace_id
            assert attrs(children[0])["step"] == "one"
        # the agent reported each invocation: no second, synthesized span for the same request id
        synthesized = [attrs(s) for s in backend.spans() if attrs(s).get("zerolag.synthesized")]
        assert [a["faas.invocation_id"] for a in synthesized if a["faas.invocation_id"] in rids] == []
        everything = b"".join(m.SerializeToString() for _, m in backend.requests)
        assert b"thundra-secret-key-123" not in everything


def test_thundra_timeout_report_and_the_platform_verdict(tmp_path: Path, layer: Path) -> None:
    """Thundra reports the timeout itself (timeout=true before the deadline): its SERVER span has error
    status; the platform's verdict is a child error span in the same trace, not a second invocation span."""
    from zerolag.emulator import Sandbox

    code = write_code(tmp_path / "code", "import time\n\ndef handler(event, context):\n    time.sleep(60)\n")
    handler = "thundra.handler.wrapper"
    with otlp_backend() as backend:
        env = base_env(
            backend,
            THUNDRA_APIKEY="thundra-secret-key-123",
            THUNDRA_AGENT_REPORT_REST_LOCAL="true",
            THUNDRA_AGENT_LAMBDA_HANDLER="app.handler",
        )
        if port_is_free(THUNDRA_DEFAULT_PORT):
            env["ZEROLAG_THUNDRA_PORT"] = str(THUNDRA_DEFAULT_PORT)
        else:
            (code / "shim.py").write_text(SHIM, encoding="utf-8")
            handler = "shim.wrapper"
        with Sandbox(
            code=str(code),
            handler=handler,
            layers=[str(layer), str(THUNDRA_LAYER)],
            env=env,
            timeout=3.0,
            function_name="thundra-slow",
        ) as sb:
            result = sb.invoke({})
            sb.shutdown()
        assert result.status == "timeout"
        rid = result.request_id

        def spans_of(pred: Any) -> list[Any]:
            return [s for s in backend.spans() if attrs(s).get("faas.invocation_id") == rid and pred(s)]

        assert backend.wait_for(
            lambda: bool(spans_of(lambda s: attrs(s).get("zerolag.platform_outcome"))), 60
        )
        (server,) = spans_of(lambda s: s.kind == 2)
        assert server.status.code == 2
        assert "thundra.transaction_id" in attrs(server)
        (verdict,) = spans_of(lambda s: attrs(s).get("zerolag.platform_outcome"))
        assert verdict.parent_span_id == server.span_id
        assert verdict.trace_id == server.trace_id
        assert attrs(verdict)["error.type"] == "Sandbox.Timedout"
