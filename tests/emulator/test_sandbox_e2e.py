"""End to end: the real awslambdaric in the sandbox, for each outcome in the contract (sections 1, 2, 4)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerolag import lambda_wire as wire
from zerolag.emulator import Sandbox
from zerolag.emulator.layout import wait_for_closes

pytestmark = pytest.mark.e2e

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "emulator"
SCENARIOS = EXAMPLES / "scenarios"


def _types(sb: Sandbox, prefix: str = "platform.init") -> list[tuple[str, object]]:
    return [(e["type"], e["record"].get("phase")) for e in sb.telemetry if str(e["type"]).startswith(prefix)]  # type: ignore[union-attr]


@pytest.fixture
def info_sandbox() -> Iterator[Sandbox]:
    with Sandbox(code=SCENARIOS, handler="app.info", env={"MY_VAR": "1"}, function_name="fn") as sb:
        yield sb


def test_success_returns_handler_result(info_sandbox: Sandbox) -> None:
    """A successful invocation returns the handler's JSON with status success and a report."""
    r = info_sandbox.invoke({"x": 1})
    assert r.status == "success"
    assert r.error_type is None
    body = r.json()
    assert body["request_id"] == r.request_id
    assert body["arn"].endswith(":function:fn")
    assert r.billed_duration_ms >= r.duration_ms > 0
    assert r.init_duration_ms is not None
    reports = [e for e in info_sandbox.telemetry if e["type"] == "platform.report"]
    assert reports[-1]["record"]["requestId"] == r.request_id  # type: ignore[index]
    assert "initDurationMs" in reports[-1]["record"]["metrics"]  # type: ignore[index]


def test_second_invocation_is_warm(info_sandbox: Sandbox) -> None:
    """The second invocation reuses the runtime: no init duration."""
    info_sandbox.invoke({})
    assert info_sandbox.invoke({}).init_duration_ms is None


def test_function_sees_lambda_layout_and_environment(info_sandbox: Sandbox) -> None:
    """sys.path starts with the task root and /opt/python paths; reserved variables are set; the dev venv's
    packages are invisible."""
    body = info_sandbox.invoke({}).json()
    task = body["env"]["LAMBDA_TASK_ROOT"]
    opt = "/opt" if info_sandbox.layout.namespaced else str(info_sandbox.layout.opt)
    runtime = info_sandbox.cfg.runtime  # the emulator's own interpreter's version by default
    assert runtime == f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert body["sys_path"][:3] == [task, f"{opt}/python/lib/{runtime}/site-packages", f"{opt}/python"]
    assert body["cwd"] == task
    env = body["env"]
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}"
    assert env["_HANDLER"] == "app.info"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_LAMBDA_RUNTIME_API"] == info_sandbox.api_address
    assert env["MY_VAR"] == "1"
    assert env["_X_AMZN_TRACE_ID"].startswith("Root=1-")
    assert body["modules"] == []
    assert 0 < body["remaining_ms"] <= 3000


def test_client_context_and_cognito_identity_reach_the_handler(info_sandbox: Sandbox) -> None:
    """client_context and cognito_identity travel in the /next headers to awslambdaric's context."""
    body = info_sandbox.invoke(
        {},
        client_context={"custom": {"k": "v"}},
        cognito_identity={"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"},
    ).json()
    assert body["client_context"] == {"k": "v"}
    assert body["identity_id"] == "id-1"


def test_namespace_paths_are_real(info_sandbox: Sandbox) -> None:
    """In the private mount namespace the code is at /var/task."""
    if not info_sandbox.layout.namespaced:
        pytest.skip("no mount namespace on this machine")
    assert info_sandbox.invoke({}).json()["env"]["LAMBDA_TASK_ROOT"] == "/var/task"


def test_handler_exception() -> None:
    """A handler exception: status error, the body from awslambdaric, telemetry status error."""
    with Sandbox(code=SCENARIOS, handler="app.boom") as sb:
        r = sb.invoke({})
        assert (r.status, r.error_type) == ("error", "ValueError")
        assert r.json()["errorMessage"] == "boom"
        done = [e["record"] for e in sb.telemetry if e["type"] == "platform.runtimeDone"]
        assert done[-1]["status"] == "error"  # type: ignore[index]
        assert sb.invoke({}).status == "error"  # the sandbox stays warm


def test_bad_handler_is_import_module_error_with_suppressed_init() -> None:
    """A missing module: Runtime.ImportModuleError; the invoke re-runs init with phase "invoke"."""
    with Sandbox(code=SCENARIOS, handler="nope.handler") as sb:
        r = sb.invoke({})
        assert (r.status, r.error_type) == ("error", wire.ERR_RUNTIME_IMPORT_MODULE)
        assert "nope" in r.json()["errorMessage"]
        phases = _types(sb, "platform.initStart")
        assert phases == [("platform.initStart", "init"), ("platform.initStart", "invoke")]


def test_timeout_resets_and_reinits() -> None:
    """A timeout: Sandbox.Timedout, the runtime is reset; the next invoke re-inits with phase invoke."""
    with Sandbox(code=SCENARIOS, handler="app.sleepy", timeout=2.0) as sb:
        r = sb.invoke({"seconds": 60})
        assert (r.status, r.error_type) == ("timeout", wire.ERR_SANDBOX_TIMEOUT)
        assert "Task timed out after 2.00 seconds" in r.json()["errorMessage"]
        report = [e["record"] for e in sb.telemetry if e["type"] == "platform.report"][-1]
        assert report["status"] == "timeout"  # type: ignore[index]
        r2 = sb.invoke({"seconds": 0})
        assert r2.status == "success"
        assert _types(sb, "platform.initStart")[-1] == ("platform.initStart", "invoke")


def test_crash_is_runtime_exit_error() -> None:
    """os._exit in the handler: Runtime.ExitError with the exit status; the next invoke works again."""
    with Sandbox(code=SCENARIOS, handler="app.crash") as sb:
        r = sb.invoke({"code": 3})
        assert (r.status, r.error_type) == ("failure", wire.ERR_RUNTIME_EXIT)
        assert "exit status 3" in r.json()["errorMessage"]
        assert any(line.text == "about to crash" for line in sb.logs)
        assert sb.invoke({"code": 1}).error_type == wire.ERR_RUNTIME_EXIT


def test_response_over_6mib() -> None:
    """A 7 MiB response: Function.ResponseSizeTooLarge for the client."""
    with Sandbox(code=SCENARIOS, handler="app.big") as sb:
        r = sb.invoke({})
        assert (r.status, r.error_type) == ("error", "Function.ResponseSizeTooLarge")
        assert "6291556" in r.json()["errorMessage"]


def test_exec_wrapper_adds_interpreter_option() -> None:
    """AWS_LAMBDA_EXEC_WRAPPER gets the interpreter and its args; the classic -v wrapper makes Python
    verbose (import lines on stderr) and the handler still runs."""
    env = {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/verbose-wrapper"}
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=[EXAMPLES / "wrapper-layer"], env=env) as sb:
        if not sb.layout.namespaced:
            pytest.skip("the wrapper path /opt/... needs the mount namespace")
        assert sb.invoke({"a": 1}).json() == {"ok": True, "event": {"a": 1}}
        assert any(line.text.startswith("import 'awslambdaric") for line in sb.logs)


def test_missing_exec_wrapper_exits_127() -> None:
    """A wrapper path that does not exist: the bootstrap prints "does not exist" and exits 127."""
    with Sandbox(code=SCENARIOS, handler="app.ok", env={"AWS_LAMBDA_EXEC_WRAPPER": "/nope/wrapper"}) as sb:
        r = sb.invoke({})
        assert (r.status, r.error_type) == ("failure", wire.ERR_RUNTIME_EXIT)
        assert "exit status 127" in r.json()["errorMessage"]
        assert any(line.text == "/nope/wrapper: does not exist" for line in sb.logs)


def test_wrapper_not_executable_exits_126(tmp_path: Path) -> None:
    """A wrapper that is not executable: exit 126."""
    layer = tmp_path / "layer"
    layer.mkdir()
    (layer / "wrapper").write_text('#!/bin/sh\nexec "$@"\n')
    (layer / "wrapper").chmod(0o644)
    with Sandbox(
        code=SCENARIOS, handler="app.ok", layers=[layer], env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper"}
    ) as sb:
        if not sb.layout.namespaced:
            pytest.skip("needs the mount namespace")
        assert "exit status 126" in sb.invoke({}).json()["errorMessage"]


def test_out_of_memory() -> None:
    """Allocating past the memory size: Runtime.OutOfMemory and a reset."""
    with Sandbox(code=SCENARIOS, handler="app.hog", memory_mb=128) as sb:
        r = sb.invoke({"blocks": 24})
        assert (r.status, r.error_type) == ("failure", wire.ERR_RUNTIME_OOM)
        assert sb.invoke({"blocks": 1}).status == "success"


def test_custom_runtime_bootstrap_in_task() -> None:
    """runtime="provided": /var/task/bootstrap is the runtime; AWS_EXECUTION_ENV is unset."""
    with Sandbox(code=EXAMPLES / "custom-runtime", handler="any.thing", runtime="provided") as sb:
        r = sb.invoke({"n": 1})
        assert r.json() == {"custom": True, "handler": "any.thing", "event": {"n": 1}}


def test_custom_runtime_bootstrap_in_opt(tmp_path: Path) -> None:
    """runtime="provided" with no bootstrap in the code: /opt/bootstrap from a layer."""
    code = tmp_path / "code"
    code.mkdir()
    with Sandbox(code=code, handler="h", layers=[EXAMPLES / "custom-runtime"], runtime="provided") as sb:
        assert sb.invoke({}).json()["custom"] is True


def test_bytes_payload_is_sent_as_is() -> None:
    """A bytes payload reaches the function unchanged."""
    with Sandbox(code=SCENARIOS, handler="app.ok") as sb:
        assert sb.invoke(b'{"raw": true}').json() == {"ok": True, "event": {"raw": True}}


def test_fallback_layout_without_namespace() -> None:
    """namespace=False: the same function runs with LAMBDA_TASK_ROOT at a temp dir."""
    with Sandbox(code=SCENARIOS, handler="app.info", namespace=False) as sb:
        body = sb.invoke({}).json()
        assert body["env"]["LAMBDA_TASK_ROOT"] == str(SCENARIOS)
        assert body["sys_path"][0] == str(SCENARIOS)


def test_two_sandboxes_at_once() -> None:
    """Sandboxes are independent: two run side by side with their own API ports and cgroups."""
    with Sandbox(code=SCENARIOS, handler="app.ok") as a, Sandbox(code=SCENARIOS, handler="app.ok") as b:
        assert a.api_address != b.api_address
        assert a.invoke({"a": 1}).json()["event"] == {"a": 1}
        assert b.invoke({"b": 1}).json()["event"] == {"b": 1}


def test_shutdown_is_idempotent_and_invoke_after_shutdown_fails() -> None:
    """shutdown() twice is fine; invoking a shut-down sandbox raises."""
    sb = Sandbox(code=SCENARIOS, handler="app.ok")
    sb.start()
    sb.shutdown()
    sb.shutdown()
    with pytest.raises(RuntimeError):
        sb.invoke({})


def test_internal_extension_registers_from_runtime() -> None:
    """An internal extension registers from the runtime process (INVOKE only: SHUTDOWN is refused with
    Extension.InvalidEventType) and receives INVOKE."""
    with Sandbox(code=EXAMPLES / "internal-ext", handler="app.handler") as sb:
        first = sb.invoke({})
        body = sb.invoke({}).json()
        assert body["status"] == 200
        assert body["shutdown_try"][0] == 403
        assert body["shutdown_try"][1]["errorType"] == wire.ERR_EXT_INVALID_EVENT_TYPE
        assert first.request_id in body["seen"]
        names = [e["record"]["name"] for e in sb.telemetry if e["type"] == "platform.extension"]  # type: ignore[index]
        assert names == ["internal-probe"]


def test_on_log_streams_cloudwatch_lines() -> None:
    """on_log receives START, the function's lines, END and REPORT in order."""
    lines: list[str] = []
    with Sandbox(
        code=EXAMPLES / "hello", handler="app.handler", on_log=lambda line: lines.append(line.text)
    ) as sb:
        r = sb.invoke({})
    rid = r.request_id
    start = lines.index(f"START RequestId: {rid} Version: $LATEST")
    hello = lines.index("hello from the handler")
    end = lines.index(f"END RequestId: {rid}")
    report = next(i for i, t in enumerate(lines) if t.startswith(f"REPORT RequestId: {rid}\tDuration: "))
    assert start < hello < end < report
    assert json.loads(r.body)["request_id"] == rid


def test_everything_is_cleaned_up_even_after_an_exception() -> None:
    """Leaving the block by an exception still kills the processes, ends the mount namespace holder and
    removes the freezer cgroup and the sandbox's temp tree."""
    seen: dict[str, object] = {}

    def fail_inside() -> None:
        with Sandbox(code=SCENARIOS, handler="app.info") as sb:
            sb.invoke({})
            seen["pid"] = sb._gen.runtime.pid  # type: ignore[union-attr]
            seen["root"] = sb.layout.root
            seen["holder"] = sb.layout.holder
            seen["cgroup"] = getattr(sb._ctx.freezer, "path", None)  # type: ignore[union-attr]
            raise KeyError("test failure inside the sandbox block")

    with pytest.raises(KeyError):
        fail_inside()
    wait_for_closes()  # the tree is removed in the background (each former mount point costs a grace period)
    pid = seen["pid"]
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not Path(str(seen["root"])).exists()
    holder = seen["holder"]
    assert holder is None or holder.poll() is not None  # type: ignore[attr-defined]
    assert seen["cgroup"] is None or not Path(str(seen["cgroup"])).exists()
