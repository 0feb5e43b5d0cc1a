"""One invocation (contract section 2, Invoke): INVOKE to the extensions first, then the runtime.

Two phases. :func:`begin` + :func:`respond` run until the caller's response is known: the runtime posted
/response or /error, crashed, or ran out of time. :func:`finish` runs the post-runtime phase: the invocation
ends when the runtime and every INVOKE subscriber are back in /next, bounded by the timeout. That span is
billed (duration, billed duration, the ``extensionOverhead`` span) but not waited for by the caller; the
sandbox takes no other invocation until it ended (docs/emulator.md, "Response and billing").
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from zerolag import lambda_wire as wire
from zerolag.emulator import environment, logs, records
from zerolag.emulator.core import Invocation, Outcome, telemetry_error_type
from zerolag.emulator.generation import Generation, exit_message
from zerolag.emulator.result import InvokeResponse, InvokeResult


@dataclass(frozen=True)
class Request:
    payload: bytes
    trace_id: str | None
    client_context: str | None = None
    cognito_identity: str | None = None
    content_type: str = "application/json"
    request_id: str | None = None  # given by the caller (an accepted async event keeps its id); else new


@dataclass(frozen=True)
class Verdict:
    """How the platform saw the invocation end: telemetry status/type and the reset reason."""

    tel_status: str
    tel_error_type: str | None
    reset: str | None  # None | "timeout" | "failure"


def new_trace_id(now: float) -> str:
    root = f"1-{int(now):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


def run(gen: Generation, req: Request, init_ms: float | None) -> tuple[InvokeResult, str | None]:
    """Invoke once, both phases; return the result and the reset reason (None when the sandbox stays warm)."""
    accepted = time.monotonic()
    inv = begin(gen, req)
    response = respond(gen, inv, accepted)
    return finish(gen, inv, response, init_ms)


def begin(gen: Generation, req: Request) -> Invocation:
    """START, INVOKE to the subscribed extensions, then the event to the runtime."""
    ctx, core, cfg = gen.ctx, gen.core, gen.ctx.cfg
    request_id = req.request_id or str(uuid.uuid4())
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
    core.wait_until(core.invoke_taken, _deadline(gen, inv))
    core.release(inv)
    return inv


def _deadline(gen: Generation, inv: Invocation) -> float:
    return inv.started_at + gen.ctx.cfg.timeout_s


def respond(gen: Generation, inv: Invocation, accepted_at: float) -> InvokeResponse:
    """Wait until the caller's response is known: the runtime's outcome, its exit, or the timeout."""
    core = gen.core
    core.wait_until(lambda: inv.outcome is not None or core.runtime_exit is not None, _deadline(gen, inv))
    with core.cond:
        out, exit_code = inv.outcome, core.runtime_exit
    ready = time.monotonic()
    latency = records.ms(accepted_at, ready)
    if out is not None:
        status = "success" if out.kind == "response" else "error"
        return InvokeResponse(status, out.body, out.error_type, inv.request_id, latency, out.content_type)
    if exit_code is not None:
        err = _crash_type(gen)
        msg = f"RequestId: {inv.request_id} Error: {exit_message(exit_code)}"
        gen.ctx.sink("function", "runtime", msg)
        body = json.dumps(wire.error_body(err, msg)).encode()
        return InvokeResponse("failure", body, err, inv.request_id, latency)
    body = _timeout_body(gen, inv)
    return InvokeResponse("timeout", body, wire.ERR_SANDBOX_TIMEOUT, inv.request_id, latency)


def finish(
    gen: Generation, inv: Invocation, response: InvokeResponse, init_ms: float | None
) -> tuple[InvokeResult, str | None]:
    """The post-runtime phase: wait for the runtime's /next and the extensions, then END/REPORT."""
    core = gen.core
    deadline = _deadline(gen, inv)
    if response.status != "timeout":
        core.wait_until(lambda: inv.runtime_next_at is not None or core.runtime_exit is not None, deadline)
    verdict = _verdict(gen, inv, response)
    runtime_done = inv.runtime_next_at or time.monotonic()
    _emit_runtime_done(gen, inv, verdict, runtime_done)
    if verdict.reset is None:
        done = core.wait_until(lambda: inv.extensions_done_at is not None, deadline)
        if not done:
            _timeout_body(gen, inv)  # logs the timeout line
            verdict = Verdict("timeout", wire.ERR_SANDBOX_TIMEOUT, "timeout")
    if verdict.reset is None and core.exited_extensions:
        # An extension died during the invocation: the caller kept the runtime's outcome, the platform
        # reports a failure (Extension.Crash) and the sandbox is reset.
        verdict = Verdict("failure", wire.ERR_EXT_CRASH, "failure")
    end = max(runtime_done, inv.extensions_done_at or time.monotonic())
    if verdict.tel_status == "timeout" or verdict.reset:
        end = time.monotonic()
    gen.drain_output()
    result = _report(gen, inv, verdict, response, overhead=(runtime_done, end), init_ms=init_ms)
    core.finish_invocation()
    gen.request_id = None
    return result, verdict.reset


def _verdict(gen: Generation, inv: Invocation, response: InvokeResponse) -> Verdict:
    core, out = gen.core, inv.outcome
    if response.status == "timeout":
        return Verdict("timeout", wire.ERR_SANDBOX_TIMEOUT, "timeout")
    if inv.runtime_next_at is not None and out is not None:
        if out.kind == "response":
            return Verdict("success", None, None)
        return Verdict("error", telemetry_error_type(out.header_type), None)
    if core.runtime_exit is not None:
        return _crashed(gen, out)
    _timeout_body(gen, inv)  # the runtime posted its outcome but never came back to /next in time
    return Verdict("timeout", wire.ERR_SANDBOX_TIMEOUT, "timeout")


def _crash_type(gen: Generation) -> str:
    return wire.ERR_RUNTIME_OOM if gen.ctx.guard.oom_killed() else wire.ERR_RUNTIME_EXIT


def _crashed(gen: Generation, out: Outcome | None) -> Verdict:
    """The runtime died during the invocation: a reset. Lambda reports it as ``status: error`` with the
    crash's type (REPORT ``Status: error  Error Type: Runtime.OutOfMemory`` in CloudWatch)."""
    err = _crash_type(gen)
    if err != wire.ERR_RUNTIME_OOM and out is not None and out.kind == "error":
        return Verdict("error", out.header_type, "failure")  # e.g. the 413 outcome, then the runtime gave up
    return Verdict("error", err, "failure")


def _timeout_body(gen: Generation, inv: Invocation) -> bytes:
    """Log the ``Task timed out`` line; return the body the caller gets for a timeout."""
    msg = logs.timeout_line(inv.request_id, gen.ctx.cfg.timeout_s, now=records.iso_now())
    gen.ctx.sink("function", "runtime", msg)
    return json.dumps({"errorMessage": msg}).encode()


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
    gen: Generation,
    inv: Invocation,
    v: Verdict,
    response: InvokeResponse,
    *,
    overhead: tuple[float, float],
    init_ms: float | None,
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
    ctx.sink("platform", "platform", logs.report_line(record))
    return InvokeResult(
        status=response.status,
        body=response.body,
        error_type=response.error_type,
        request_id=inv.request_id,
        duration_ms=duration,
        billed_duration_ms=metrics.billed_ms,
        post_runtime_ms=post_runtime,
        init_duration_ms=init_ms,
        max_memory_used_mb=metrics.max_used_mb,
        content_type=response.content_type,
        latency_ms=response.latency_ms,
        report_status=v.tel_status,
        report_error_type=v.tel_error_type,
    )
