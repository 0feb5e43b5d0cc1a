"""The public face of the emulator: ``Sandbox``, a local Lambda execution environment (docs/INTERFACES.md)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from zerolag import lambda_wire as wire
from zerolag.emulator import freezer, invocation, layout, records, runtime_files, shutdown
from zerolag.emulator.api_server import ApiServer, start_api_server
from zerolag.emulator.environment import FunctionConfig
from zerolag.emulator.generation import Context, Generation, InitOutcome
from zerolag.emulator.result import InvokeResult, LogLine
from zerolag.emulator.seams import make_guard

LogCallback = Callable[[LogLine], None]


class Sandbox:
    """A Lambda sandbox running ``handler`` from ``code`` with ``layers`` merged at /opt.

    ``with Sandbox(code="dir", handler="app.handler") as sb: sb.invoke({"x": 1})``. Init runs on enter
    (phase ``init``); after a reset the next invoke re-inits (phase ``invoke``). ``on_log`` gets every line
    as it happens, including the platform's START/END/REPORT lines (source ``platform``).
    ``freeze``: True (cgroup freezer, else SIGSTOP), ``"signal"`` (SIGSTOP/SIGCONT) or False.
    ``namespace``: None (private mount namespace when possible), True or False (the fallback layout).
    """

    def __init__(
        self,
        code: str | os.PathLike[str],
        handler: str,
        *,
        layers: Iterable[str | os.PathLike[str]] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 3.0,
        memory_mb: int = 128,
        freeze: bool | str = True,
        function_name: str = "function",
        runtime: str = "python3.11",
        namespace: bool | None = None,
        runtime_dir: str | os.PathLike[str] | None = None,
        on_log: LogCallback | None = None,
        init_timeout: float = wire.INIT_TIMEOUT_S,
    ) -> None:
        self.cfg = FunctionConfig(
            handler=handler,
            function_name=function_name,
            memory_mb=memory_mb,
            timeout_s=timeout,
            env=dict(env or {}),
            runtime=runtime,
            init_timeout_s=init_timeout,
        )
        self._code = Path(code)
        self._layers = [Path(p) for p in layers]
        self._freeze = freeze
        self._namespace = namespace
        self._runtime_dir = Path(runtime_dir) if runtime_dir else runtime_files.default_runtime_dir()
        self._on_log = on_log
        self.id = uuid.uuid4().hex[:12]
        self.logs: list[LogLine] = []
        self._past_events: list[dict[str, object]] = []
        self._lock = threading.RLock()
        self._ctx: Context | None = None
        self._server: ApiServer | None = None
        self._gen: Generation | None = None
        self._pending_init_ms: float | None = None
        self.last_init: InitOutcome | None = None
        self._closed = False
        self._finalizer: weakref.finalize[Any, Any] | None = None

    # --- context manager -------------------------------------------------------------------------------
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()

    def start(self) -> None:
        """Lay out the file system, start the API server and run Init (phase ``init``)."""
        with self._lock:
            if self._ctx is not None:
                return
            lay = layout.build(
                self._code,
                self._layers,
                self._runtime_dir,
                namespace=self._namespace,
                runtime=self.cfg.runtime,
            )
            with contextlib.ExitStack() as undo:
                undo.callback(lay.close)
                frz = freezer.create(self.id, self._freeze)
                undo.callback(frz.close)
                guard = make_guard(self.id, self.cfg.memory_mb)
                undo.callback(guard.close)
                self._server = start_api_server()
                undo.callback(self._teardown)
                port = self._server.server_address[1]
                self._ctx = Context(
                    self.cfg, lay, f"127.0.0.1:{port}", frz, guard, records.Clock.create(), self._sink
                )
                undo.pop_all()
            self._finalizer = weakref.finalize(self, Sandbox._emergency_cleanup, self._ctx, self._server)
            try:
                self._init("init")
            except BaseException:
                self.shutdown()
                raise

    # --- public API ------------------------------------------------------------------------------------
    @property
    def telemetry(self) -> list[dict[str, object]]:
        """Every Telemetry API event the platform produced, over all generations."""
        current = list(self._gen.hub.events) if self._gen is not None else []
        return self._past_events + current

    @property
    def deliveries(self) -> list[tuple[str, str]]:
        """The current generation's deliveries in order: ("INVOKE"|"SHUTDOWN", extension name) and
        ("RUNTIME", request id)."""
        return list(self._gen.core.deliveries) if self._gen is not None else []

    @property
    def api_address(self) -> str:
        """``host:port`` of the sandbox's Runtime/Extensions/Telemetry API."""
        assert self._ctx is not None, "sandbox not started"
        return self._ctx.api

    @property
    def layout(self) -> layout.Layout:
        assert self._ctx is not None, "sandbox not started"
        return self._ctx.layout

    @property
    def freezer_kind(self) -> str:
        return self._ctx.freezer.kind if self._ctx is not None else "none"

    def invoke(
        self,
        payload: Any = None,
        trace_id: str | None = None,
        *,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        """Invoke once (bytes go as they are, anything else as JSON) and wait for the invocation's end."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        req = invocation.Request(
            body,
            trace_id,
            json.dumps(client_context) if client_context else None,
            json.dumps(cognito_identity) if cognito_identity else None,
        )
        with self._lock:
            if self._closed or self._ctx is None:
                raise RuntimeError("the sandbox is not running")
            ctx = self._ctx
            if self._gen is None:
                outcome = self._init("invoke")
                if outcome.status != "success":
                    return self._init_failed_result(outcome)
            gen = self._gen
            assert gen is not None
            ctx.freezer.thaw()
            gen.hub.resume()
            init_ms, self._pending_init_ms = self._pending_init_ms, None
            result, reset = invocation.run(gen, req, init_ms)
            if reset is not None:
                self._reset(reset)
            else:
                self._pause()
            return result

    def shutdown(self) -> None:
        """SHUTDOWN(spindown) to the extensions, then every process ends. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._gen is not None and self._ctx is not None:
                self._reset("spindown")
            self._teardown()

    # --- internals -------------------------------------------------------------------------------------
    def _sink(self, source: str, name: str, text: str) -> None:
        rid = self._gen.request_id if self._gen is not None else None
        line = LogLine(source, name, rid, text)
        if source != "platform":
            self.logs.append(line)
        if self._on_log is not None:
            self._on_log(line)

    def _init(self, phase: str) -> InitOutcome:
        assert self._ctx is not None
        assert self._server is not None
        gen = Generation(self._ctx, phase)
        self._gen = gen
        self._server.generation = gen
        outcome = gen.init()
        self.last_init = outcome
        if outcome.status != "success":
            self._reset("failure")
            return outcome
        self._pending_init_ms = outcome.duration_ms
        self._pause()
        return outcome

    def _pause(self) -> None:
        assert self._ctx is not None
        assert self._gen is not None
        self._gen.hub.pause()
        self._ctx.freezer.freeze()

    def _reset(self, reason: str) -> None:
        """End the current generation (thawed first: a frozen process cannot even die)."""
        gen, ctx = self._gen, self._ctx
        if gen is None or ctx is None:
            return
        ctx.freezer.thaw()
        gen.hub.resume()
        shutdown.shutdown(gen, reason)
        for pid in ctx.freezer.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        self._past_events.extend(gen.hub.events)
        self._gen = None
        self._pending_init_ms = None

    def _init_failed_result(self, outcome: InitOutcome) -> InvokeResult:
        request_id = str(uuid.uuid4())
        metrics = records.ReportMetrics(
            outcome.duration_ms,
            records.billed_ms(outcome.duration_ms),
            self.cfg.memory_mb,
            0,
            outcome.duration_ms,
        )
        for text in (f"START RequestId: {request_id} Version: $LATEST", f"END RequestId: {request_id}"):
            self._sink("platform", "platform", text)
        self._sink("platform", "platform", records.report_line(request_id, metrics, outcome.status))
        return InvokeResult(
            status=outcome.status,
            body=outcome.body,
            error_type=outcome.error_type,
            request_id=request_id,
            duration_ms=outcome.duration_ms,
            billed_duration_ms=records.billed_ms(outcome.duration_ms),
            post_runtime_ms=0.0,
            init_duration_ms=outcome.duration_ms,
            max_memory_used_mb=0,
        )

    @staticmethod
    def _emergency_cleanup(ctx: Context, server: ApiServer) -> None:
        """At interpreter exit (or garbage collection) without shutdown(): kill, unmount, remove cgroups."""
        gen = server.generation
        ctx.freezer.thaw()
        if isinstance(gen, Generation):
            for proc in gen.procs:
                proc.kill()
        for pid in ctx.freezer.pids():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        server.shutdown()
        server.server_close()
        ctx.freezer.close()
        ctx.guard.close()
        ctx.layout.close()

    def _teardown(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        ctx, self._ctx = self._ctx, None
        if self._server is not None:
            self._server.generation = None
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if ctx is not None:
            ctx.freezer.close()
            ctx.guard.close()
            ctx.layout.close()
