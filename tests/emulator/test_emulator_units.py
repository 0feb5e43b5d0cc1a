"""The emulator's pure parts: records, billing, environment, registry, bootstrap files, freezer choice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from zerolag import lambda_wire as wire
from zerolag.emulator import freezer, logs, records, runtime_files
from zerolag.emulator.core import telemetry_error_type
from zerolag.emulator.environment import FunctionConfig, extension_environment, function_environment
from zerolag.emulator.http_base import ApiError
from zerolag.emulator.registry import Registry, accepts_account_id


@pytest.mark.parametrize(("duration", "billed"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.001, 2), (2999.5, 3000)])
def test_billed_duration_rounds_up_to_the_millisecond(duration: float, billed: int) -> None:
    """Every started millisecond is billed, at least one."""
    assert records.billed_ms(duration) == billed


def test_iso_time_has_milliseconds_and_z() -> None:
    """Telemetry times are ISO-8601 UTC with milliseconds and a Z."""
    assert records.iso(0.5) == "1970-01-01T00:00:00.500Z"


def test_report_line_shape() -> None:
    """The REPORT line is tab-separated like CloudWatch's, Init Duration, Status and Error Type only when
    relevant; it is rendered from the platform.report record, so the two never disagree."""
    m = records.ReportMetrics(12.345, 13, 128, 40, 100.0)
    rec = records.report(
        records.Clock(0.0),
        "rid",
        status="timeout",
        error_type="Sandbox.Timedout",
        m=m,
        overhead=(0, 0),
        trace_id=None,
    )
    assert logs.report_line(rec) == (
        "REPORT RequestId: rid\tDuration: 12.35 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 40 MB\tInit Duration: 100.00 ms\tStatus: timeout\tError Type: Sandbox.Timedout"
    )
    warm_m = records.ReportMetrics(1.0, 1, 128, 40, None)
    warm = logs.report_line(
        records.report(
            records.Clock(0.0),
            "rid",
            status="success",
            error_type=None,
            m=warm_m,
            overhead=(0, 0),
            trace_id=None,
        )
    )
    assert "Init Duration" not in warm
    assert "Status" not in warm


def test_report_record_has_metrics_and_extension_overhead_span() -> None:
    """platform.report: metrics (initDurationMs only on cold start) and the extensionOverhead span."""
    clock = records.Clock(0.0)
    m = records.ReportMetrics(10.0, 10, 128, 30, None)
    rec = records.report(
        clock, "rid", status="success", error_type=None, m=m, overhead=(1.0, 1.25), trace_id=None
    )
    assert rec["metrics"] == {
        "durationMs": 10.0,
        "billedDurationMs": 10,
        "memorySizeMB": 128,
        "maxMemoryUsedMB": 30,
    }
    assert rec["spans"] == [
        {"name": "extensionOverhead", "start": "1970-01-01T00:00:01.000Z", "durationMs": 250.0}
    ]
    assert "tracing" not in rec
    assert "errorType" not in rec


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Runtime.ImportModuleError", "Runtime.ImportModuleError"),
        ("Function.Bad", "Function.Bad"),
        ("Function.X", "Runtime.Unknown"),
        ("ValueError", "Runtime.Unknown"),
        (None, "Runtime.Unknown"),
        ("Runtime.bad", "Runtime.Unknown"),
    ],
)
def test_telemetry_error_type_follows_rapid(header: str | None, expected: str) -> None:
    """Only Runtime.X/Function.X categories are recorded as they are (contract section 1, /error)."""
    assert telemetry_error_type(header) == expected


def test_function_environment_reserved_and_user_variables() -> None:
    """Reserved variables win over the user's, except the region; PATH starts with the runtime's bin."""
    cfg = FunctionConfig(
        handler="app.h",
        function_name="f",
        memory_mb=256,
        env={"_HANDLER": "evil", "AWS_REGION": "eu-west-1", "A": "1"},
    )
    env = function_environment(
        cfg, api="127.0.0.1:9", task="/var/task", runtime="/var/runtime", lang="/var/lang", opt="/opt"
    )
    assert env["_HANDLER"] == "app.h"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["A"] == "1"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/f"
    assert env["PATH"].startswith("/var/lang/bin:")
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert cfg.arn == "arn:aws:lambda:eu-west-1:012345678912:function:f"
    ext = extension_environment(env)
    assert "_HANDLER" not in ext
    assert "LAMBDA_TASK_ROOT" not in ext
    assert ext["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9"


def test_registry_counts_and_closes() -> None:
    """Registration order, the limit of 10, and closing."""
    reg = Registry(frozenset({"ext"}))
    first = reg.register("ext", b'{"events":["INVOKE","SHUTDOWN"]}')
    assert not first.internal
    assert reg.externals_registered()
    reg.open = False
    with pytest.raises(ApiError) as err:
        reg.register("other", b'{"events":[]}')
    assert err.value.error_type == wire.ERR_EXT_REGISTRATION_CLOSED


def test_accept_feature_parsing() -> None:
    """accountId is found in a comma-separated feature list."""
    assert accepts_account_id("a, accountId")
    assert not accepts_account_id(None)
    assert not accepts_account_id("accountIdentity")


def _bootstrap(tmp_path: Path, wrapper: str | None) -> subprocess.CompletedProcess[str]:
    runtime_files.build_runtime(tmp_path, "/nonexistent-lang", str(tmp_path), "/opt")
    env = {"PATH": "/usr/bin:/bin"}
    if wrapper is not None:
        env["AWS_LAMBDA_EXEC_WRAPPER"] = wrapper
    return subprocess.run([str(tmp_path / "bootstrap")], env=env, capture_output=True, text=True, check=False)


def test_bootstrap_missing_wrapper_exits_127(tmp_path: Path) -> None:
    """The bootstrap: a wrapper that does not exist → "…: does not exist", exit 127 (contract section 4)."""
    done = _bootstrap(tmp_path, str(tmp_path / "missing"))
    assert done.returncode == 127
    assert done.stdout.strip() == f"{tmp_path / 'missing'}: does not exist"


def test_bootstrap_non_executable_wrapper_exits_126(tmp_path: Path) -> None:
    """The bootstrap: a wrapper that is not executable → exit 126."""
    wrapper = tmp_path / "w"
    wrapper.write_text("#!/bin/sh\n")
    wrapper.chmod(0o644)
    assert _bootstrap(tmp_path, str(wrapper)).returncode == 126


def test_bootstrap_passes_interpreter_and_script_to_wrapper(tmp_path: Path) -> None:
    """The wrapper gets the interpreter path and bootstrap.py as its arguments."""
    wrapper = tmp_path / "w"
    wrapper.write_text('#!/bin/sh\necho "$@"\n')
    wrapper.chmod(0o755)
    done = _bootstrap(tmp_path, str(wrapper))
    python = f"python{runtime_files.python_version()}"
    assert done.stdout.split() == [f"/nonexistent-lang/bin/{python}", f"{tmp_path}/bootstrap.py"]


def test_freezer_off_and_signal_modes() -> None:
    """freeze=False gives the no-op freezer; "signal" forces SIGSTOP/SIGCONT."""
    off = freezer.create("x", False)
    try:
        assert off.kind == "none"
    finally:
        off.close()
    assert freezer.create("x", "signal").kind == "sigstop"
