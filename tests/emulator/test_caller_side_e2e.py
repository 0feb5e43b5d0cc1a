"""The caller's side of an invocation (docs/emulator.md, "Response and billing") and the platform's log lines
(contract section 2, Invoke and Shutdown budget; section 3, Delivery)."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from gate import Gate

from zerolag import lambda_wire as wire
from zerolag.emulator import LogLine, Sandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "emulator"
SCENARIOS = EXAMPLES / "scenarios"
RECORDER = EXAMPLES / "recorder-layer"


def recorder_lines(sb: Sandbox, kind: str) -> list[dict[str, Any]]:
    out = []
    for line in sb.logs:
        if line.name == "recorder" and line.text.startswith("{"):
            doc = json.loads(line.text)
            if doc.get("recorder") == kind:
                out.append(doc)
    return out


def test_response_comes_before_the_post_runtime_phase_and_the_next_invoke_waits_for_it() -> None:
    """The caller has the response while an extension is still busy after INVOKE; the invocation goes on
    (billed) until the extension is back in /next, and the next invocation starts only after that."""
    with Gate() as gate:
        env = {"RECORDER_POST_GATE": gate.address}
        with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env=env) as sb:
            first = sb.submit({"n": 1})
            assert first.response.json() == {"ok": True, "event": {"n": 1}}
            # the extension is in its post-runtime work, and the caller has its response already
            assert gate.wait_for(1) == [first.response.request_id]
            assert not first.done()
            second: list[Any] = []
            waiter = threading.Thread(target=lambda: second.append(sb.invoke({"n": 2})))
            waiter.start()
            waiter.join(0.3)
            assert waiter.is_alive(), "the next invocation must wait for the post-runtime phase"
            gate.open()
            result = first.result(60)
            waiter.join(60)
    assert result.status == "success"
    assert result.post_runtime_ms > 0
    assert result.latency_ms < result.duration_ms  # the caller did not wait for the extension
    assert result.billed_duration_ms >= result.duration_ms
    assert second[0].ok
    starts = [e for e in sb.telemetry if e["type"] in ("platform.start", "platform.report")]
    order = [(e["type"], e["record"]["requestId"]) for e in starts]  # type: ignore[index]
    assert order == [
        ("platform.start", result.request_id),
        ("platform.report", result.request_id),
        ("platform.start", second[0].request_id),
        ("platform.report", second[0].request_id),
    ]


def test_log_tail_holds_the_invocation_from_start_to_report() -> None:
    """InvokeResult.log_tail (what LogType=Tail returns): START, the function's lines, END, REPORT."""
    with Sandbox(code=EXAMPLES / "hello", handler="app.handler") as sb:
        r = sb.invoke({})
    text = r.log_tail.decode()
    lines = text.splitlines()
    assert lines[0] == f"START RequestId: {r.request_id} Version: $LATEST"
    assert any("hello from the handler" in line for line in lines)
    assert lines[-2] == f"END RequestId: {r.request_id}"
    assert lines[-1].startswith(f"REPORT RequestId: {r.request_id}\tDuration: ")


def test_extension_and_telemetry_lines_at_init() -> None:
    """CloudWatch shows one EXTENSION line per extension (rapid's format) and one TELEMETRY line per
    subscription, before the first START."""
    seen: list[str] = []

    def on_log(line: LogLine) -> None:
        if line.source == "platform":
            seen.append(line.text)

    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], on_log=on_log) as sb:
        sb.invoke({})
    assert "EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE,SHUTDOWN]" in seen
    assert "TELEMETRY\tName: recorder\tState: Subscribed\tTypes: [Platform, Function]" in seen
    first_start = next(i for i, t in enumerate(seen) if t.startswith("START "))
    assert seen.index("EXTENSION\tName: recorder\tState: Ready\tEvents: [INVOKE,SHUTDOWN]") < first_start


def test_report_line_carries_the_error_type() -> None:
    """A crashed runtime: the REPORT line says Status and Error Type, as the platform.report record does."""
    seen: list[str] = []
    with Sandbox(code=SCENARIOS, handler="app.crash", on_log=lambda line: seen.append(line.text)) as sb:
        r = sb.invoke({})
    report = next(t for t in seen if t.startswith(f"REPORT RequestId: {r.request_id}"))
    record = next(e["record"] for e in sb.telemetry if e["type"] == "platform.report")
    assert report.endswith(f"\tStatus: error\tError Type: {wire.ERR_RUNTIME_EXIT}")  # as CloudWatch shows it
    assert (record["status"], record["errorType"]) == ("error", wire.ERR_RUNTIME_EXIT)  # type: ignore[index]
    assert (r.report_status, r.report_error_type) == ("error", wire.ERR_RUNTIME_EXIT)
    assert (r.status, r.error_type) == ("failure", wire.ERR_RUNTIME_EXIT)  # what the caller got


def test_init_failure_body_has_the_request_id_prefix(tmp_path: Path) -> None:
    """A runtime that exits during a (suppressed) init: the invoke's body is the platform's message with the
    ``RequestId: <id> Error: ...`` prefix every invoke-phase failure has."""
    (tmp_path / "app.py").write_text("import os\nos._exit(3)\n")
    with Sandbox(code=tmp_path, handler="app.handler") as sb:
        r = sb.invoke({})
    assert (r.status, r.error_type) == ("failure", wire.ERR_RUNTIME_EXIT)
    message = json.loads(r.body)["errorMessage"]
    assert message == f"RequestId: {r.request_id} Error: Runtime exited with error: exit status 3"


def test_extension_killed_at_the_shutdown_deadline_is_reported() -> None:
    """An extension still running at the shutdown deadline is killed, and that is said: a platform line and
    the sandbox's shutdown report."""
    seen: list[str] = []
    env = {"RECORDER_HANG_ON_SHUTDOWN": "1"}
    with Sandbox(
        code=SCENARIOS, handler="app.ok", layers=[RECORDER], env=env, on_log=lambda ln: seen.append(ln.text)
    ) as sb:
        sb.invoke({})
    assert [(s.reason, s.killed_extensions) for s in sb.shutdowns] == [("spindown", ("recorder",))]
    assert any(t.startswith("SHUTDOWN\tExtension: recorder\tState: Killed") for t in seen)


def test_extension_that_exits_on_shutdown_is_not_reported_killed() -> None:
    """The ordinary case: the extension exits after SHUTDOWN; nothing is reported killed."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER]) as sb:
        sb.invoke({})
    assert [(s.reason, s.killed_extensions) for s in sb.shutdowns] == [("spindown", ())]


def test_shutdown_flush_respects_the_subscribers_buffering() -> None:
    """Before SHUTDOWN the platform delivers what is buffered in batches of the subscription's size. An
    extension that logs what it receives (and subscribed to its own logs) must not turn the flush into one
    POST per event: with timeoutMs 30 s, everything goes in one batch."""
    env = {"RECORDER_TIMEOUT_MS": "30000", "RECORDER_TYPES": "platform,function,extension"}
    with Sandbox(code=EXAMPLES / "hello", handler="app.handler", layers=[RECORDER], env=env) as sb:
        for _ in range(3):
            sb.invoke({})
    batches = {item["batch"] for item in recorder_lines(sb, "telemetry")}
    assert len(recorder_lines(sb, "telemetry")) >= 12  # three invocations' start/function/runtimeDone/report
    assert batches == {1}
