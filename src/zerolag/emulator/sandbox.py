"""The public face of the emulator: ``Sandbox``, a local Lambda execution environment (docs/INTERFACES.md)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from zerolag import lambda_wire as wire
from zerolag.emulator import freezer, invocation, layout, logs, records, runtime_files, runtimes, shutdown
from zerolag.emulator.api_server import ApiServer, start_api_server
from zerolag.emulator.environment import FunctionConfig
from zerolag.emulator.generation import Context, Generation, InitOutcome, kill_sandbox
from zerolag.emulator.result import InvokeResponse, InvokeResult, LogLine, PendingInvoke
from zerolag.emulator.seams import make_guard

LogCallback = Callable[[LogLine], None]
TAIL_BYTES = 4096  # LogType=Tail: the last 4 KB of the invocation's log


class Sandbox:
    """A Lambda sandbox running ``handler`` from ``code`` with ``layers`` merged at /opt.

    ``with Sandbox(code="dir", handler="app.handler") as sb: sb.invoke({"x": 1})``. Init runs on enter
    (phase ``init``); after a reset the next invoke re-inits (phase ``invoke``). ``on_log`` gets every line
    as it happens, including the platform's START/END/REPORT lines (source ``platform``).
    ``freeze``: True (cgroup freezer, else SIGSTOP), ``"signal"`` (SIGSTOP/SIGCONT) or False.
    ``namespace``: None (private namespaces when possible), True or False (the fallback layout).
    ``runtime``: ``python3.X`` (an installed CPython of that version; default: the emulator's own) or
    ``provided``/``provided.al2``/``provided.al2023``. ``ephemeral_storage_mb``: the size of ``/tmp``.
    Isolation, zip extraction and runtimes: docs/emulator.md.
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
        runtime: str | None = None,
        namespace: bool | None = None,
        runtime_dir: str | os.PathLike[str] | None = None,
        on_log: LogCallback | None = None,
        init_timeout: float = wire.INIT_TIMEOUT_S,
        ephemeral_storage_mb: int = layout.DEFAULT_EPHEMERAL_MB,
    ) -> None:
        if ephemeral_storage_mb < 1:
            raise ValueError(f"ephemeral_storage_mb must be positive, got {ephemeral_storage_mb}")
        self.cfg = FunctionConfig(
            handler=handler,
            function_name=function_name,
            memory_mb=memory_mb,
            timeout_s=timeout,
            env=dict(env or {}),
            runtime=runtime or runtimes.default_runtime(),
            init_timeout_s=init_timeout,
        )
        runtimes.parse(self.cfg.runtime)  # an unknown name fails here, clearly
        self._code = Path(code)
        self._layers = [Path(p) for p in layers]
        self._freeze = freeze
        self._namespace = namespace
        self._runtime_dir = Path(runtime_dir) if runtime_dir else None
        self._on_log = on_log
        self._ephemeral_mb = ephemeral_storage_mb
        self.id = uuid.uuid4().hex[:12]
        self.logs: list[LogLine] = []
        self._past_events: list[dict[str, object]] = []
        self.shutdowns: list[shutdown.ShutdownReport] = []  # one per ended generation (reset or spindown)
        # Held from the moment an invocation takes the sandbox until its post-runtime phase ended (possibly
        # released by the finisher thread, hence a Lock, not an RLock), and by start/shutdown.
        self._lock = threading.Lock()
        self._finisher: _Finisher | None = None
        self._tail: _Tail | None = None
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
            entry, interpreter, runtime_dir = runtimes.resolve(self.cfg.runtime, self._runtime_dir)
            lay = layout.build(
                self._code,
                self._layers,
                runtime_dir or self._runtime_dir or runtime_files.default_runtime_dir(),
                namespace=self._namespace,
                ephemeral_mb=self._ephemeral_mb,
                interpreter=interpreter,
                python=entry.has_python,
                runtime=entry.name,
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
                self._shutdown_locked()
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
        """Invoke once (bytes go as they are, anything else as JSON) and wait for the invocation's end,
        post-runtime phase included (``latency_ms`` says when the caller had its response)."""
        req = _request(payload, trace_id, client_context, cognito_identity)
        return self._submit(req, inline=True).result()

    def submit(
        self,
        payload: Any = None,
        trace_id: str | None = None,
        *,
        client_context: Mapping[str, Any] | None = None,
        cognito_identity: Mapping[str, str] | None = None,
        request_id: str | None = None,
    ) -> PendingInvoke:
        """Invoke and return as soon as the caller's response is known, as Lambda answers its caller.

        Waits while a previous invocation (its post-runtime phase included) is running. The returned
        handle has the ``response``; its ``result()`` waits for the end of the invocation, which goes on
        in the background, billed: the extensions' post-runtime work, END and REPORT, the freeze.
        ``request_id``: the invocation's id (an async event keeps the id its caller got); else a new one.
        """
        req = _request(payload, trace_id, client_context, cognito_identity)
        if request_id is not None:
            req = dataclasses.replace(req, request_id=request_id)
        return self._submit(req, inline=False)

    def shutdown(self) -> None:
        """SHUTDOWN(spindown) to the extensions, then every process ends. Idempotent."""
        with self._lock:
            self._shutdown_locked()
        finisher, self._finisher = self._finisher, None
        if finisher is not None:
            finisher.stop()

    def _shutdown_locked(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._gen is not None and self._ctx is not None:
            self._reset("spindown")
        self._teardown()

    def _submit(self, req: invocation.Request, *, inline: bool) -> PendingInvoke:
        self._lock.acquire()
        accepted = time.monotonic()
        try:
            if self._closed or self._ctx is None:
                raise RuntimeError("the sandbox is not running")
            ctx = self._ctx
            self._tail = _Tail()
            if self._gen is None:
                outcome = self._init("invoke")
                if outcome.status != "success":
                    result = self._init_failed_result(outcome, accepted, req.request_id)
                    pending = PendingInvoke(_response_of(result))
                    self._end(pending, result)
                    return pending
            gen = self._gen
            assert gen is not None
            ctx.freezer.thaw()
            gen.hub.resume()
            init_ms, self._pending_init_ms = self._pending_init_ms, None
            inv = invocation.begin(gen, req)
            response = invocation.respond(gen, inv, accepted)
        except BaseException:
            self._tail = None
            self._lock.release()
            raise
        pending = PendingInvoke(response)

        def complete() -> None:
            try:
                result, reset = invocation.finish(gen, inv, response, init_ms)
                if reset is not None:
                    self._reset(reset)
                else:
                    self._pause()
            except BaseException as exc:  # handed to whoever waits on the result
                self._tail = None
                self._lock.release()
                pending._finish(None, exc)
                return
            self._end(pending, result)

        if inline:
            complete()
        else:
            if self._finisher is None:
                self._finisher = _Finisher()
            self._finisher.run(complete)
        return pending

    def _end(self, pending: PendingInvoke, result: InvokeResult) -> None:
        """Release the sandbox, then hand the result (with its log tail) to whoever waits for it."""
        tail, self._tail = self._tail, None
        if tail is not None:
            result = dataclasses.replace(result, log_tail=tail.data())
        self._lock.release()
        pending._finish(result)

    # --- internals -------------------------------------------------------------------------------------
    def _sink(self, source: str, name: str, text: str) -> None:
        rid = self._gen.request_id if self._gen is not None else None
        line = LogLine(source, name, rid, text)
        if source != "platform":
            self.logs.append(line)
        tail = self._tail
        if tail is not None:
            tail.add(text)
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
        self.shutdowns.append(shutdown.shutdown(gen, reason))
        kill_sandbox(ctx)
        self._past_events.extend(gen.hub.events)
        self._gen = None
        self._pending_init_ms = None

    def _init_failed_result(
        self, outcome: InitOutcome, accepted: float, request_id: str | None = None
    ) -> InvokeResult:
        """The result of an invoke whose (suppressed) init failed: Lambda reports it as the invocation's
        error, with the same ``RequestId: <id> Error: ...`` message the invoke-phase failures carry."""
        request_id = request_id or str(uuid.uuid4())
        body = _with_request_id(outcome.body, request_id) if outcome.platform_body else outcome.body
        billed = records.billed_ms(outcome.duration_ms)
        metrics = records.ReportMetrics(
            outcome.duration_ms, billed, self.cfg.memory_mb, 0, outcome.duration_ms
        )
        record = records.report(
            records.Clock.create(),
            request_id,
            status=outcome.status,
            error_type=outcome.error_type,
            m=metrics,
            overhead=(0.0, 0.0),
            trace_id=None,
        )
        for text in (f"START RequestId: {request_id} Version: $LATEST", f"END RequestId: {request_id}"):
            self._sink("platform", "platform", text)
        self._sink("platform", "platform", logs.report_line(record))
        return InvokeResult(
            status=outcome.status,
            body=body,
            error_type=outcome.error_type,
            request_id=request_id,
            duration_ms=outcome.duration_ms,
            billed_duration_ms=billed,
            post_runtime_ms=0.0,
            init_duration_ms=outcome.duration_ms,
            max_memory_used_mb=0,
            latency_ms=records.ms(accepted, time.monotonic()),
            report_status=outcome.status,
            report_error_type=outcome.error_type,
        )

    @staticmethod
    def _emergency_cleanup(ctx: Context, server: ApiServer) -> None:
        """At interpreter exit (or garbage collection) without shutdown(): kill, unmount, remove cgroups."""
        gen = server.generation
        ctx.freezer.thaw()
        if isinstance(gen, Generation):
            for proc in gen.procs:
                proc.kill()
        kill_sandbox(ctx)
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


def _request(
    payload: Any,
    trace_id: str | None,
    client_context: Mapping[str, Any] | None,
    cognito_identity: Mapping[str, str] | None,
) -> invocation.Request:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return invocation.Request(
        body,
        trace_id,
        json.dumps(client_context) if client_context else None,
        json.dumps(cognito_identity) if cognito_identity else None,
    )


def _response_of(result: InvokeResult) -> InvokeResponse:
    return InvokeResponse(
        result.status,
        result.body,
        result.error_type,
        result.request_id,
        result.latency_ms,
        result.content_type,
    )


def _with_request_id(body: bytes, request_id: str) -> bytes:
    """Prefix the error message with ``RequestId: <id>`` (an init failure, as the invoke sees it)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if not isinstance(doc, dict) or not isinstance(doc.get("errorMessage"), str):
        return body
    if not doc["errorMessage"].startswith("RequestId: "):
        doc["errorMessage"] = f"RequestId: {request_id} {doc['errorMessage']}"
    return json.dumps(doc).encode()


class _Tail:
    """The last ``TAIL_BYTES`` of one invocation's log lines (``LogType=Tail``)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def add(self, text: str) -> None:
        self._buf += text.encode("utf-8", errors="replace") + b"\n"
        if len(self._buf) > 2 * TAIL_BYTES:  # trim now and then, so the buffer stays bounded
            del self._buf[: len(self._buf) - TAIL_BYTES]

    def data(self) -> bytes:
        return bytes(self._buf[-TAIL_BYTES:])


class _Finisher:
    """One daemon thread per sandbox that runs post-runtime phases, so ``submit`` returns at once."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="sandbox-finisher", daemon=True)
        self._thread.start()

    def run(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def stop(self) -> None:
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(5)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()
