"""One generation of a sandbox: its processes, lifecycle core and telemetry hub, from Init to shutdown.

A reset (timeout, crash, failed init) ends a generation; the next invoke starts a new one (a suppressed init,
``phase: "invoke"``). Contract section 2: discovery and order, init limit, shutdown budget.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zerolag import lambda_wire as wire
from zerolag.emulator import environment, processes, records
from zerolag.emulator.core import Core
from zerolag.emulator.environment import FunctionConfig
from zerolag.emulator.freezer import Freezer
from zerolag.emulator.layout import Layout
from zerolag.emulator.processes import SandboxProcess
from zerolag.emulator.seams import Guard, make_hub

DRAIN_S = 0.2  # how long an invocation's end waits for output still in the pipes
LineSink = Callable[[str, str, str], None]  # (source, name, text)


@dataclass
class Context:
    """What every generation of one sandbox shares."""

    cfg: FunctionConfig
    layout: Layout
    api: str
    freezer: Freezer
    guard: Guard
    clock: records.Clock
    sink: LineSink


@dataclass(frozen=True)
class InitOutcome:
    status: str  # success | error | failure | timeout
    error_type: str | None
    body: bytes
    duration_ms: float


def _error_json(error_type: str, message: str) -> bytes:
    return json.dumps(wire.error_body(error_type, message)).encode()


def exit_message(code: int) -> str:
    how = f"signal: {_signal_name(-code)}" if code < 0 else f"exit status {code}"
    return f"Runtime exited with error: {how}"


def _signal_name(num: int) -> str:
    import signal

    try:
        return signal.Signals(num).name.removeprefix("SIG").lower().replace("kill", "killed")
    except ValueError:
        return str(num)


class Generation:
    """Processes + core + hub of one init."""

    def __init__(self, ctx: Context, phase: str) -> None:
        self.ctx = ctx
        self.phase = phase
        self.core = Core(frozenset(p.name for p in self.external_paths()))
        self.hub = make_hub(ctx.cfg.log_format)
        self.procs: list[SandboxProcess] = []
        self.runtime: SandboxProcess | None = None
        self.env = environment.function_environment(
            ctx.cfg,
            api=ctx.api,
            task=ctx.layout.seen("task"),
            runtime=ctx.layout.seen("runtime"),
            lang=ctx.layout.seen("lang"),
            opt=ctx.layout.seen("opt"),
        )
        self.request_id: str | None = None  # the invocation in flight, for log lines

    # --- seam for the API routes -----------------------------------------------------------------------
    def register_info(self) -> dict[str, str]:
        cfg = self.ctx.cfg
        return {
            "functionName": cfg.function_name,
            "functionVersion": environment.VERSION,
            "handler": cfg.handler,
            "accountId": cfg.account_id,
        }

    def on_register(self, name: str) -> None:
        """Registrations are tracked by the core."""

    # --- processes -------------------------------------------------------------------------------------
    def external_paths(self) -> list[Path]:
        ext_dir = self.ctx.layout.opt / "extensions"
        if not ext_dir.is_dir():
            return []
        return sorted(p for p in ext_dir.iterdir() if not p.is_dir())

    def _spawn(self, kind: str, name: str, argv: list[str], env: dict[str, str], cwd: str) -> SandboxProcess:
        source = "function" if kind == "runtime" else "extension"

        def on_line(text: str) -> None:
            self.ctx.sink(source, name, text)
            self.hub.log_line(source, text, request_id=self.request_id)

        proc = processes.spawn(
            kind,
            name,
            argv,
            env=env,
            cwd=cwd,
            join_fd=self.ctx.freezer.join_fd(),
            ns_path=self.ctx.layout.ns_path(),
            on_line=on_line,
            on_exit=lambda code: self.core.process_exited(kind, name, code),
        )
        self.ctx.freezer.track(proc.pid)
        with contextlib.suppress(ProcessLookupError):  # it may be gone already (exit 127)
            self.ctx.guard.add_pid(proc.pid)
        self.procs.append(proc)
        return proc

    def drain_output(self, timeout: float = DRAIN_S) -> None:
        """Wait (bounded) until every line the processes wrote so far has been captured."""
        deadline = time.monotonic() + timeout
        while not all(p.drained() for p in self.procs) and time.monotonic() < deadline:
            time.sleep(0.0005)

    def _runtime_argv(self) -> list[str]:
        lay = self.ctx.layout
        if not self.ctx.cfg.runtime.startswith("provided"):
            return [f"{lay.seen('runtime')}/bootstrap"]
        for base in ("task", "opt"):
            if (getattr(lay, base) / "bootstrap").is_file():
                return [f"{lay.seen(base)}/bootstrap"]
        return [f"{lay.seen('task')}/bootstrap"]  # missing: exec fails, init fails like Lambda's

    # --- init ------------------------------------------------------------------------------------------
    def init(self) -> InitOutcome:
        """Extensions first (all at once, lexical order), the runtime once they registered, then wait for
        everyone's first /next. Bounded by the 10 s init limit."""
        cfg = self.ctx.cfg
        t0 = time.monotonic()
        deadline = t0 + cfg.init_timeout_s
        self.ctx.sink("platform", "platform", f"INIT_START Runtime Version: {cfg.runtime}")
        self.hub.emit(
            "platform.initStart",
            records.init_start(
                cfg.function_name, environment.VERSION, self.phase, cfg.memory_mb, cfg.runtime
            ),
        )
        ext_env = environment.extension_environment(self.env)
        for path in self.external_paths():
            seen = f"{self.ctx.layout.seen('opt')}/extensions/{path.name}"
            self._spawn("extension", path.name, [seen], ext_env, "/")
        core = self.core
        failed = self._init_failure
        core.wait_until(lambda: core.registry.externals_registered() or failed() is not None, deadline)
        outcome = failed() or self._start_runtime(deadline)
        if outcome is None:
            core.wait_until(lambda: core.extensions_ready() or failed() is not None, deadline)
            outcome = failed() or (None if core.extensions_ready() else ("timeout", wire.ERR_SANDBOX_TIMEOUT))
        with core.cond:
            core.init_done = True
        return self._finish_init(t0, outcome)

    def _start_runtime(self, deadline: float) -> tuple[str, str] | None:
        core = self.core
        if not core.registry.externals_registered():
            return ("timeout", wire.ERR_SANDBOX_TIMEOUT)
        self.runtime = self._spawn(
            "runtime", "runtime", self._runtime_argv(), self.env, self.ctx.layout.seen("task")
        )
        core.wait_until(lambda: core.runtime_started_next or self._init_failure() is not None, deadline)
        outcome = self._init_failure()
        if outcome is None and not core.runtime_started_next:
            outcome = ("timeout", wire.ERR_SANDBOX_TIMEOUT)
        status, error_type = outcome or ("success", None)
        self.hub.emit("platform.initRuntimeDone", records.init_status(self.phase, status, error_type, {}))
        return outcome

    def _init_failure(self) -> tuple[str, str] | None:
        """(status, errorType) when init can no longer succeed (caller holds the lock or tolerates races)."""
        core = self.core
        if core.init_error is not None:
            return ("error", core.init_error.error_type or wire.ERR_RUNTIME_UNKNOWN)
        if core.runtime_exit is not None:
            return ("failure", wire.ERR_RUNTIME_EXIT)
        ext = core.failed_extension()
        if ext is not None:
            return ("failure", wire.ERR_EXT_INIT_ERROR)
        if core.exited_extensions:
            return ("failure", wire.ERR_EXT_CRASH)
        return None

    def _finish_init(self, t0: float, outcome: tuple[str, str] | None) -> InitOutcome:
        duration = records.ms(t0, time.monotonic())
        for ext in self.core.registry.all():
            record: dict[str, object] = {"name": ext.name, "state": "Ready", "events": sorted(ext.events)}
            if ext.error_type:
                record["errorType"] = ext.error_type
            self.hub.emit("platform.extension", record)
        status, error_type = outcome or ("success", None)
        if error_type:
            self.ctx.sink(
                "platform",
                "platform",
                f"INIT_REPORT Init Duration: {duration:.2f} ms\tPhase: {self.phase}\tStatus: {status}"
                f"\tError Type: {error_type}",
            )
        self.hub.emit(
            "platform.initReport",
            records.init_status(self.phase, status, error_type, {"metrics": {"durationMs": duration}}),
        )
        return InitOutcome(status, error_type, self._init_error_body(error_type), duration)

    def _init_error_body(self, error_type: str | None) -> bytes:
        core = self.core
        if error_type is None:
            return b""
        if core.init_error is not None and core.init_error.body:
            return core.init_error.body
        if error_type == wire.ERR_RUNTIME_EXIT and core.runtime_exit is not None:
            return _error_json(error_type, "Error: " + exit_message(core.runtime_exit))
        if error_type == wire.ERR_SANDBOX_TIMEOUT:
            return _error_json(error_type, "Init phase timed out")
        return _error_json(error_type, f"Init failed: {error_type}")
