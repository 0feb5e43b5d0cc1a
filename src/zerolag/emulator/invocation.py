"""One invocation (contract section 2, Invoke): INVOKE to the extensions first, then the runtime; the
invocation ends when the runtime and every INVOKE subscriber are back in /next, bounded by the timeout.
Post-runtime extension time counts into duration, billed duration and the ``extensionOverhead`` span."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from zerolag import lambda_wire as wire
from zerolag.emulator import environment, records
from zerolag.emulator.core import Invocation, Outcome, telemetry_error_type
from zerolag.emulator.generation import Generation, exit_message
from zerolag.emulator.result import InvokeResult


@dataclass(frozen=True)
class Request:
    payload: bytes
    trace_id: str | None
    client_context: str | None = None
    cognito_identity: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Verdict:
    """How the invocation ended: client-facing status/body/type, telemetry status/type, reset reason."""

    status: str
    body: bytes
    error_type: str | None
    tel_status: str
    tel_error_type: str | None
    reset: str | None  # None | "timeout" | "failure"


def new_trace_id(now: float) -> str:
    root = f"1-{int(now):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def run(gen: Generation, req: Request, init_ms: float | None) -> tuple[InvokeResult, str | None]:
    """Invoke once; return the result and the reset reason (None when the sandbox stays warm)."""
    ctx, core, cfg = gen.ctx, gen.core, gen.ctx.cfg
    request_id = str(uuid.uuid4())
    t0 = time.monotonic()
    deadline = t0 + cfg.timeout_s
    trace_id = req.trace_id or new_trace_id(ctx.clock.wall(t0))
    inv = Invocation(
        request_id=request_id,
        payload=req.payload,
        deadline_ms=int(ctx.clock.wall(deadline) * 1000),
        function_arn=cfg.arn,
        trace_id=trace_id,
        client_context=req.client_context,
        cognito_identity=req.cognito_identity,
        content_type=req.content_type,
        started_at=t0,
    )
    gen.request_id = request_id
    ctx.guard.reset_peak()
    gen.hub.emit("platform.start", records.start(request_id, environment.VERSION, trace_id))
    ctx.sink("platform", "platform", f"START RequestId: {request_id} Version: {environment.VERSION}")
    event: dict[str, object] = {
        "eventType": wire.EVENT_INVOKE,
        "deadlineMs": inv.deadline_ms,
        "requestId": request_id,
        "invokedFunctionArn": cfg.arn,
        **records.tracing(trace_id),
    }
    core.queue_invoke(inv, event)
    core.wait_until(core.invoke_taken, deadline)
    core.release(inv)
    core.wait_until(lambda: inv.outcome is not None or core.runtime_exit is not None, deadline)
    core.wait_until(lambda: inv.runtime_next_at is not None or core.runtime_exit is not None, deadline)
    verdict = _verdict(gen, inv)
    runtime_done = inv.runtime_next_at or time.monotonic()
    _emit_runtime_done(gen, inv, verdict, runtime_done)
    if verdict.reset is None:
        done = core.wait_until(lambda: inv.extensions_done_at is not None, deadline)
        if not done:
            verdict = _timed_out(gen, inv, verdict.body)
    if verdict.reset is None and core.exited_extensions:
        verdict = _extension_crashed(verdict)
    end = max(runtime_done, inv.extensions_done_at or time.monotonic())
    if verdict.status == "timeout" or verdict.reset:
        end = time.monotonic()
    gen.drain_output()
    result = _report(gen, inv, verdict, (runtime_done, end), init_ms)
    core.finish_invocation()
    gen.request_id = None
    return result, verdict.reset


def _verdict(gen: Generation, inv: Invocation) -> Verdict:
    core, out = gen.core, inv.outcome
    if inv.runtime_next_at is not None and out is not None:
        if out.kind == "response":
            return Verdict("success", out.body, None, "success", None, None)
        tel = telemetry_error_type(out.header_type)
        return Verdict("error", out.body, out.error_type, "error", tel, None)
    if core.runtime_exit is not None:
        return _crashed(gen, inv, out, core.runtime_exit)
    return _timed_out(gen, inv, b"")


def _crashed(gen: Generation, inv: Invocation, out: Outcome | None, code: int) -> Verdict:
    if gen.ctx.guard.oom_killed():
        err = wire.ERR_RUNTIME_OOM
    elif out is not None and out.kind == "error":  # e.g. the 413 outcome, then the runtime gave up
        return Verdict("error", out.body, out.error_type, "error", out.header_type, "failure")
    else:
        err = wire.ERR_RUNTIME_EXIT
    msg = f"RequestId: {inv.request_id} Error: {exit_message(code)}"
    body = json.dumps(wire.error_body(err, msg)).encode()
    if out is not None and out.kind == "response":  # the response got out before the crash
        return Verdict("success", out.body, None, "failure", err, "failure")
    gen.ctx.sink("function", "runtime", msg)
    return Verdict("failure", body, err, "failure", err, "failure")


def _extension_crashed(v: Verdict) -> Verdict:
    """An extension died during the invocation: the client keeps the runtime's outcome, the platform
    reports a failure (Extension.Crash) and the sandbox is reset."""
    return Verdict(v.status, v.body, v.error_type, "failure", wire.ERR_EXT_CRASH, "failure")


def _timed_out(gen: Generation, inv: Invocation, body: bytes) -> Verdict:
    timeout = gen.ctx.cfg.timeout_s
    msg = f"{records.iso_now()} {inv.request_id} Task timed out after {timeout:.2f} seconds"
    gen.ctx.sink("function", "runtime", msg)
    return Verdict(
        "timeout",
        body or json.dumps({"errorMessage": msg}).encode(),
        wire.ERR_SANDBOX_TIMEOUT,
        "timeout",
        wire.ERR_SANDBOX_TIMEOUT,
        "timeout",
    )


def _emit_runtime_done(gen: Generation, inv: Invocation, v: Verdict, runtime_done: float) -> None:
    out = inv.outcome
    first = out.first_byte_at if out else runtime_done
    last = out.last_byte_at if out else runtime_done
    times = records.RuntimeTimes(inv.started_at, first, last, runtime_done, len(out.body) if out else 0)
    record = records.runtime_done(
        gen.ctx.clock,
        inv.request_id,
        status=v.tel_status,
        error_type=v.tel_error_type,
        t=times,
        trace_id=inv.trace_id,
    )
    gen.hub.emit("platform.runtimeDone", record)


def _report(
    gen: Generation, inv: Invocation, v: Verdict, overhead: tuple[float, float], init_ms: float | None
) -> InvokeResult:
    ctx = gen.ctx
    duration = records.ms(inv.started_at, overhead[1])
    post_runtime = records.ms(overhead[0], overhead[1])
    metrics = records.ReportMetrics(
        duration, records.billed_ms(duration), ctx.cfg.memory_mb, ctx.guard.max_used_mb(), init_ms
    )
    record = records.report(
        ctx.clock,
        inv.request_id,
        status=v.tel_status,
        error_type=v.tel_error_type,
        m=metrics,
        overhead=overhead,
        trace_id=inv.trace_id,
    )
    gen.hub.emit("platform.report", record)
    ctx.sink("platform", "platform", f"END RequestId: {inv.request_id}")
    ctx.sink("platform", "platform", records.report_line(inv.request_id, metrics, v.tel_status))
    content_type = inv.outcome.content_type if inv.outcome else "application/json"
    return InvokeResult(
        status=v.status,
        body=v.body,
        error_type=v.error_type,
        request_id=inv.request_id,
        duration_ms=duration,
        billed_duration_ms=metrics.billed_ms,
        post_runtime_ms=post_runtime,
        init_duration_ms=init_ms,
        max_memory_used_mb=metrics.max_used_mb,
        content_type=content_type,
    )
