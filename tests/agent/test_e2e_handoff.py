"""End to end in the emulator, with freezing on: under awslambdaric the agent hands each invocation's data
over on the runtime's thread before it asks for the next event, so the data is out before the sandbox can
freeze (no worker thread that a freeze could stop mid-way)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_sink import Sink
from conftest import function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

FUNCTION = """
from zerolag.agent import span


def handler(event, context):
    with span("work"):
        return {"n": event["n"]}
"""


def test_every_invocations_data_is_out_before_the_freeze(
    agent_layer: Path, sink: Sink, moto_url: str, tmp_path: Path
) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(FUNCTION)
    env = function_env(
        moto_url,
        AWS_LAMBDA_EXEC_WRAPPER="/opt/zerolag-wrapper",
        ZEROLAG_REPORT_LOCAL="true",
        ZEROLAG_EXTENSION_PORT=str(sink.port),
    )
    with Sandbox(
        code, "app.handler", layers=[agent_layer], env=env, timeout=30, function_name="handoff"
    ) as sb:
        ids = []
        for n in range(3):
            result = sb.invoke({"n": n})
            assert result.status == "success", [line.text for line in sb.logs][-20:]
            ids.append(result.request_id)
        # The sandbox is frozen between invocations here: only data written before /next can have arrived.
        assert sink.wait_for(lambda s: all(rid in s.finals() for rid in ids), timeout=20)
    assert {s["name"] for s in sink.spans()} >= {"work", "handoff"}
