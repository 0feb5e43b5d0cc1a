"""End to end with a plain external extension (examples/emulator/recorder-layer, standard library only):
registration, INVOKE/SHUTDOWN, the Telemetry API, order, post-runtime accounting, resets and init failures
(contract section 2, "Discovery and order", "Invoke", "Shutdown budget"; section 3, "Delivery")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zerolag import lambda_wire as wire
from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "emulator"
SCENARIOS = EXAMPLES / "scenarios"
RECORDER = EXAMPLES / "recorder-layer"


def recorded(sb: Sandbox, kind: str | None = None) -> list[dict[str, Any]]:
    """The recorder's JSON lines, in order."""
    out = []
    for line in sb.logs:
        if line.source == "extension" and line.text.startswith("{"):
            doc = json.loads(line.text)
            if kind is None or doc.get("recorder") == kind:
                out.append(doc)
    return out


def events(sb: Sandbox) -> list[dict[str, Any]]:
    return [d["event"] for d in recorded(sb, "event")]


def test_extension_lifecycle_and_telemetry() -> None:
    """The recorder registers (with accountId), subscribes, gets INVOKE then SHUTDOWN(spindown), and
    receives platform.report for the invocation through the Telemetry API."""
    sb = Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER])
    with sb:
        r = sb.invoke({"k": 1})
        assert r.status == "success"
    registered = recorded(sb, "registered")[0]
    assert registered["info"]["accountId"] == "012345678912"
    assert registered["info"]["handler"] == "app.ok"
    assert recorded(sb, "subscribed")[0]["status"] == 200
    evs = events(sb)
    assert [e["eventType"] for e in evs] == ["INVOKE", "SHUTDOWN"]
    assert evs[0]["requestId"] == r.request_id
    assert evs[0]["invokedFunctionArn"].endswith(":function:function")
    assert evs[0]["tracing"]["type"] == "X-Amzn-Trace-Id"
    assert evs[1]["shutdownReason"] == "spindown"
    got = recorded(sb, "telemetry")
    reports = [t["record"] for t in got if t["type"] == "platform.report"]
    assert [rep["requestId"] for rep in reports] == [r.request_id]
    assert any(t["type"] == "platform.telemetrySubscription" for t in got)
    assert recorded(sb, "exit")


def test_extension_environment_excludes_runtime_variables() -> None:
    """The extension's environment lacks _HANDLER, AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT and every _-name."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env={"MINE": "x"}) as sb:
        env = recorded(sb, "registered")[0]["env"]
    assert "MINE" in env
    assert "AWS_LAMBDA_RUNTIME_API" in env
    for name in wire.EXTENSION_ENV_EXCLUDED:
        assert name not in env
    assert not [n for n in env if n.startswith("_")]


def test_invoke_goes_to_extensions_before_runtime() -> None:
    """INVOKE reaches the extension before the runtime gets the invocation."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER]) as sb:
        r = sb.invoke({})
        order = sb.deliveries
    assert order.index(("INVOKE", "recorder")) < order.index(("RUNTIME", r.request_id))


def test_platform_event_order() -> None:
    """Per invocation the platform produces start → runtimeDone → report; init events come first."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER]) as sb:
        r = sb.invoke({})
    types = [e["type"] for e in sb.telemetry if str(e["type"]).startswith("platform.")]
    assert types.index("platform.initStart") < types.index("platform.initRuntimeDone")
    assert types.index("platform.initRuntimeDone") < types.index("platform.initReport")
    mine = [
        e["type"]
        for e in sb.telemetry
        if isinstance(e["record"], dict) and e["record"].get("requestId") == r.request_id
    ]
    assert mine == ["platform.start", "platform.runtimeDone", "platform.report"]


def test_post_runtime_extension_time_is_accounted() -> None:
    """Extension work after the response counts into duration, billed duration and extensionOverhead:
    duration = the runtime's part (runtimeDone) + the post-runtime part, and the extension's 300 ms of work
    (started at INVOKE) is all inside the duration."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env={"RECORDER_POST_MS": "300"}) as sb:
        r = sb.invoke({})
    runtime_part = next(e["record"] for e in sb.telemetry if e["type"] == "platform.runtimeDone")["metrics"][
        "durationMs"
    ]  # type: ignore[index]
    assert r.duration_ms >= 300
    assert r.post_runtime_ms > 0
    assert abs(runtime_part + r.post_runtime_ms - r.duration_ms) < 0.01
    assert r.billed_duration_ms >= r.duration_ms
    report = next(e["record"] for e in sb.telemetry if e["type"] == "platform.report")
    overhead = report["spans"][0]  # type: ignore[index]
    assert overhead["name"] == "extensionOverhead"
    assert overhead["durationMs"] == r.post_runtime_ms
    assert report["metrics"]["durationMs"] == r.duration_ms  # type: ignore[index]
    done = recorded(sb, "post-runtime-done")
    assert done[0]["requestId"] == r.request_id


def test_timeout_sends_shutdown_timeout_then_reinits() -> None:
    """A timeout resets the sandbox: SHUTDOWN(timeout) to the extension; the next invoke starts it again."""
    with Sandbox(code=SCENARIOS, handler="app.sleepy", layers=[RECORDER], timeout=2.0) as sb:
        assert sb.invoke({"seconds": 60}).status == "timeout"
        assert sb.invoke({"seconds": 0}).status == "success"
    reasons = [e.get("shutdownReason") for e in events(sb) if e["eventType"] == "SHUTDOWN"]
    assert reasons == ["timeout", "spindown"]
    assert len(recorded(sb, "registered")) == 2


def test_crash_sends_shutdown_failure() -> None:
    """A runtime crash resets the sandbox with SHUTDOWN(failure)."""
    with Sandbox(code=SCENARIOS, handler="app.crash", layers=[RECORDER]) as sb:
        assert sb.invoke({}).error_type == wire.ERR_RUNTIME_EXIT
        reasons = [e.get("shutdownReason") for e in events(sb) if e["eventType"] == "SHUTDOWN"]
    assert reasons[0] == "failure"


def test_extension_init_error_fails_init() -> None:
    """An extension's init/error fails Init with Extension.InitError; the function never runs."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env={"RECORDER_INIT_ERROR": "1"}) as sb:
        r = sb.invoke({})
    assert (r.status, r.error_type) == ("failure", wire.ERR_EXT_INIT_ERROR)
    reports = [e["record"] for e in sb.telemetry if e["type"] == "platform.initReport"]
    assert reports[0]["status"] == "failure"  # type: ignore[index]
    assert reports[0]["errorType"] == wire.ERR_EXT_INIT_ERROR  # type: ignore[index]


def test_extension_crash_fails_init() -> None:
    """An extension that exits during init fails Init with Extension.Crash."""
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env={"RECORDER_CRASH": "1"}) as sb:
        r = sb.invoke({})
    assert (r.status, r.error_type) == ("failure", wire.ERR_EXT_CRASH)


def test_extensions_start_in_lexical_order(tmp_path: Path) -> None:
    """Every file in /opt/extensions starts; the runtime starts only after all have registered."""
    layer = tmp_path / "layer"
    (layer / "extensions").mkdir(parents=True)
    for name in ("b-second", "a-first"):
        target = layer / "extensions" / name
        target.write_bytes((RECORDER / "extensions" / "recorder").read_bytes())
        target.chmod(0o755)
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[layer]) as sb:
        r = sb.invoke({})
        assert r.status == "success"
    names = [e["record"]["name"] for e in sb.telemetry if e["type"] == "platform.extension"]  # type: ignore[index]
    assert sorted(names) == ["a-first", "b-second"]
    invokes = [e for e in events(sb) if e["eventType"] == "INVOKE"]
    assert len(invokes) == 2


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_extension_ignoring_shutdown_is_killed_at_deadline() -> None:
    """Spindown: an extension that keeps running after SHUTDOWN is SIGKILLed at the budget's end."""
    env = {"RECORDER_HANG_ON_SHUTDOWN": "1"}
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env=env) as sb:
        assert sb.invoke({}).status == "success"
        assert sb._gen is not None
        pids = [p.pid for p in sb._gen.procs if p.kind == "extension"]  # host pids (the sandbox has its own)
    assert recorded(sb, "hanging")
    assert pids
    assert not _alive(pids[0])
    shutdown = next(e for e in events(sb) if e["eventType"] == "SHUTDOWN")
    assert shutdown["shutdownReason"] == "spindown"
    assert shutdown["deadlineMs"] > 0


def test_init_limit_applies_to_extensions_that_never_register() -> None:
    """An extension that never registers: Init times out (Sandbox.Timedout) and the function never runs."""
    env = {"RECORDER_NO_REGISTER": "1"}
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[RECORDER], env=env, init_timeout=1.0) as sb:
        r = sb.invoke({})
    assert (r.status, r.error_type) == ("timeout", wire.ERR_SANDBOX_TIMEOUT)
    phases = [e["record"]["phase"] for e in sb.telemetry if e["type"] == "platform.initReport"]  # type: ignore[index]
    assert phases == ["init", "invoke"]


def test_logs_api_subscriber_gets_start_end_report() -> None:
    """An extension subscribed through the Logs API 2020-08-15 receives platform.start/end/report and the
    function's log lines."""
    env = {"RECORDER_API": "logs"}
    with Sandbox(code=EXAMPLES / "hello", handler="app.handler", layers=[RECORDER], env=env) as sb:
        r = sb.invoke({})
    assert recorded(sb, "subscribed")[0]["status"] == 200
    got = recorded(sb, "telemetry")
    mine = [
        t["type"]
        for t in got
        if isinstance(t["record"], dict) and t["record"].get("requestId") == r.request_id
    ]
    assert mine == ["platform.start", "platform.end", "platform.report"]
    assert any(t["type"] == "function" and "hello from the handler" in t["record"] for t in got)


def test_extension_exit_during_invoke_resets_with_failure() -> None:
    """An extension that dies during an invocation: the client keeps the response, the report says
    failure/Extension.Crash, and the next invoke runs a fresh init."""
    with Sandbox(
        code=SCENARIOS, handler="app.ok", layers=[RECORDER], env={"RECORDER_EXIT_ON_INVOKE": "1"}
    ) as sb:
        r = sb.invoke({"n": 1})
        assert r.status == "success"
        report = [e["record"] for e in sb.telemetry if e["type"] == "platform.report"][-1]
        assert (report["status"], report["errorType"]) == ("failure", wire.ERR_EXT_CRASH)  # type: ignore[index]
        sb.invoke({"n": 2})
    phases = [e["record"]["phase"] for e in sb.telemetry if e["type"] == "platform.initStart"]  # type: ignore[index]
    assert phases == ["init", "invoke"]


def test_zipped_code_and_layer(tmp_path: Path) -> None:
    """Code and layers may be zips; the extension's executable bit survives."""
    import zipfile

    def zip_dir(src: Path, dest: Path) -> Path:
        with zipfile.ZipFile(dest, "w") as zf:
            for path in sorted(src.rglob("*")):
                if path.is_dir() or "__pycache__" in path.parts:
                    continue
                info = zipfile.ZipInfo(str(path.relative_to(src)))
                info.external_attr = (path.stat().st_mode & 0o777) << 16
                zf.writestr(info, path.read_bytes())
        return dest

    code = zip_dir(EXAMPLES / "hello", tmp_path / "code.zip")
    layer = zip_dir(RECORDER, tmp_path / "layer.zip")
    with Sandbox(code=code, handler="app.handler", layers=[layer]) as sb:
        assert sb.invoke({"z": 1}).json()["echo"] == {"z": 1}
    assert [e["eventType"] for e in events(sb)] == ["INVOKE", "SHUTDOWN"]
