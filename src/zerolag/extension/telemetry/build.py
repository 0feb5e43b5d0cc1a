"""OTLP spans, metrics and log records built from an ended invocation or init phase (pure functions).

Names follow the OpenTelemetry FaaS semantic conventions where one exists (``faas.*``, ``cloud.*``); the
Lambda-specific numbers are ``aws.lambda.*``. Every metric and its unit is listed in docs/telemetry.md.
"""

from __future__ import annotations

from typing import Any, Final

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.ids import span_id_for, trace_id_for
from zerolag.extension.telemetry.outcome import Outcome, ms_to_ns, number
from zerolag.extension.telemetry.state import AgentIds, InitPhase, Invocation, LogEntry
from zerolag.lambda_wire import ERR_RUNTIME_UNKNOWN

TIMEOUT_MESSAGE: Final = "Task timed out after {:.2f} seconds"
ERR_UNKNOWN: Final = ERR_RUNTIME_UNKNOWN
_RUNTIME_SPANS: Final = {
    "responseLatency": "aws.lambda.runtime.response_latency",
    "responseDuration": "aws.lambda.runtime.response_duration",
    "runtimeOverhead": "aws.lambda.runtime.overhead",
}


def invocation_ids(inv: Invocation, agent: AgentIds | None) -> tuple[str, str, str]:
    """(trace id, span id, parent span id) of the invocation: the agent's when known, else the platform's."""
    if agent is not None and agent.span_id:
        parent = agent.parent_span_id
        if not parent and inv.trace and inv.trace.trace_id == agent.trace_id:
            parent = inv.trace.parent_span_id
        return agent.trace_id, agent.span_id, parent
    if agent is not None:
        return agent.trace_id, inv.own_span_id(), ""
    return inv.own_trace_id(), inv.own_span_id(), inv.trace.parent_span_id if inv.trace else ""


def invocation_span(
    inv: Invocation, out: Outcome, function_name: str, agent: AgentIds | None, memory_mb: float | None
) -> ob.JsonDict:
    """The invocation's SERVER span (synthesized because no agent reported it, or because it never ended)."""
    trace_id, span_id, parent = invocation_ids(inv, agent)
    report = inv.report
    attrs: dict[str, object] = {
        "faas.invocation_id": inv.request_id,
        "faas.coldstart": inv.cold_start,
        "faas.trigger": "other",
        "cloud.resource_id": inv.invoked_arn or None,
        "faas.max_memory": int(memory_mb * 1024 * 1024) if memory_mb else None,
        "aws.lambda.status": out.status,
        "aws.lambda.billed_duration_ms": number(report, "metrics", "billedDurationMs"),
        "aws.lambda.max_memory_used_mb": number(report, "metrics", "maxMemoryUsedMB"),
        "aws.lambda.init_duration_ms": number(report, "metrics", "initDurationMs"),
        "zerolag.synthesized": True,
    }
    status_code, message, events = ob.STATUS_UNSET, "", None
    if out.failed:
        status_code, message, events = _add_failure(attrs, inv, out)
    return ob.span(
        trace_id=trace_id,
        span_id=span_id,
        parent_span_id=parent,
        name=function_name,
        kind=ob.SPAN_KIND_SERVER,
        start_ns=out.start_ns,
        end_ns=out.end_ns,
        attrs=attrs,
        status_code=status_code,
        status_message=message,
        events=events,
    )


def _add_failure(
    attrs: dict[str, object], inv: Invocation, out: Outcome
) -> tuple[int, str, list[ob.JsonDict]]:
    """Error attributes of a failed invocation; returns (status code, message, [exception event])."""
    error_type = "Runtime.OutOfMemory" if out.oom and not out.error_type else out.error_type
    message = _error_message(out, error_type)
    if inv.printed_error is not None and out.status == "error":
        # what the runtime printed is the real exception: awslambdaric sends no error type for a handler
        # raising ValueError (the platform says Runtime.Unknown) and never a message
        printed_type, printed_message = inv.printed_error
        if not error_type or error_type in (ERR_UNKNOWN, printed_type):
            error_type = printed_type
        message = printed_message or message
    attrs.update(
        {
            "error.type": error_type or out.status,
            "aws.lambda.error_type": out.error_type or None,
            "aws.lambda.out_of_memory": out.oom,
            "aws.lambda.last_log_lines": list(inv.tail),
        }
    )
    exc = {"exception.type": error_type or out.status, "exception.message": message}
    return ob.STATUS_ERROR, message, [ob.event("exception", out.end_ns, exc)]


def outcome_span(inv: Invocation, out: Outcome, function_name: str, agent: AgentIds | None) -> ob.JsonDict:
    """The platform's verdict on a failed invocation the agent did report: an INTERNAL child of the agent's
    invocation span (so the invocation is counted once) with the error type, real run time and last lines."""
    trace_id, parent, _ = invocation_ids(inv, agent)
    attrs: dict[str, object] = {
        "faas.invocation_id": inv.request_id,
        "aws.lambda.status": out.status,
        "zerolag.synthesized": True,
        "zerolag.platform_outcome": True,
    }
    code, message, events = _add_failure(attrs, inv, out)
    return ob.span(
        trace_id=trace_id,
        span_id=span_id_for("zerolag-outcome/" + inv.request_id),
        parent_span_id=parent if agent is not None and agent.span_id else "",
        name=f"{function_name} {out.status}",
        start_ns=out.start_ns,
        end_ns=out.end_ns,
        attrs=attrs,
        status_code=code,
        status_message=message,
        events=events,
    )


def _error_message(out: Outcome, error_type: str) -> str:
    if out.status == "timeout":
        return TIMEOUT_MESSAGE.format(out.duration_ms / 1000)
    if out.oom:
        return f"Runtime exited: out of memory ({error_type or out.status})"
    return f"Invocation {out.status}: {error_type}" if error_type else f"Invocation {out.status}"


def init_span(init: InitPhase, function_name: str, trace_id: str, parent_span_id: str) -> ob.JsonDict | None:
    """The cold-start span initStart → initReport (None when initStart is missing)."""
    if init.start_ns is None:
        return None
    duration_ns = ms_to_ns(number(init.report, "metrics", "durationMs"))
    end_ns = init.report_ns or init.runtime_done_ns
    if duration_ns is not None:
        end_ns = init.start_ns + duration_ns
    record = init.report or init.runtime_done or {}
    status = record.get("status", "success")
    error_type = record.get("errorType")
    failed = status != "success"
    message = f"init {status}: {error_type}" if failed and error_type else ""
    events = None
    if failed and init.printed_error is not None:
        printed_type, printed_message = init.printed_error
        if not error_type or error_type == ERR_UNKNOWN:
            error_type = printed_type
        message = printed_message or message
    if failed:
        exc = {"exception.type": error_type or status, "exception.message": message}
        events = [ob.event("exception", end_ns if end_ns is not None else init.start_ns, exc)]
    return ob.span(
        trace_id=trace_id,
        span_id=span_id_for(f"zerolag-init/{trace_id}/{init.start_ns}"),
        parent_span_id=parent_span_id,
        name=f"{function_name} init",
        start_ns=init.start_ns,
        end_ns=end_ns if end_ns is not None else init.start_ns,
        attrs={
            "faas.coldstart": True,
            "aws.lambda.initialization_type": init.start.get("initializationType"),
            "aws.lambda.init.phase": init.start.get("phase"),
            "aws.lambda.runtime_version": init.start.get("runtimeVersion"),
            "aws.lambda.status": status,
            "error.type": error_type if failed else None,
        },
        status_code=ob.STATUS_ERROR if failed else ob.STATUS_UNSET,
        status_message=message,
        events=events,
    )


def standalone_init_trace(init: InitPhase) -> str:
    """Trace id for an init span with no invocation to hang under."""
    return trace_id_for(f"zerolag-init/{init.start_ns}")


def invocation_metrics(inv: Invocation, out: Outcome, time_ns: int) -> list[ob.JsonDict]:
    """The platform metrics of one invocation (report, runtimeDone spans) and its counters."""
    report, done = inv.report, inv.runtime_done
    m: list[ob.JsonDict] = []
    # the point, not the series, names the invocation: the collector ties points to invocations through it
    point_attrs = {"faas.invocation_id": inv.request_id}

    def add(name: str, unit: str, value: float | None) -> None:
        if value is not None:
            m.append(ob.gauge(name, unit, time_ns, value, point_attrs))

    add("aws.lambda.duration", "ms", number(report, "metrics", "durationMs") or out.duration_ms)
    add("aws.lambda.billed_duration", "ms", number(report, "metrics", "billedDurationMs"))
    add("aws.lambda.max_memory_used", "MiBy", number(report, "metrics", "maxMemoryUsedMB"))
    add("aws.lambda.memory_size", "MiBy", number(report, "metrics", "memorySizeMB"))
    used, size = number(report, "metrics", "maxMemoryUsedMB"), number(report, "metrics", "memorySizeMB")
    add("aws.lambda.memory_utilization", "1", used / size if used is not None and size else None)
    add("aws.lambda.init_duration", "ms", number(report, "metrics", "initDurationMs"))
    add("aws.lambda.restore_duration", "ms", number(report, "metrics", "restoreDurationMs"))
    add("aws.lambda.post_runtime_duration", "ms", _post_runtime_ms(report, done))
    add("aws.lambda.runtime.duration", "ms", number(done, "metrics", "durationMs"))
    add("aws.lambda.runtime.produced_bytes", "By", number(done, "metrics", "producedBytes"))
    for name, value in _spans(done).items():
        if name in _RUNTIME_SPANS:
            add(_RUNTIME_SPANS[name], "ms", value)
    counters = {
        "faas.invocations": True,
        "faas.coldstarts": inv.cold_start,
        "faas.errors": out.status in ("error", "failure"),
        "faas.timeouts": out.status == "timeout",
        "aws.lambda.out_of_memory": out.oom,
    }
    m.extend(ob.counter(name, "1", time_ns, 1, point_attrs) for name, on in counters.items() if on)
    return m


def _spans(record: dict[str, Any] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    spans = record.get("spans") if isinstance(record, dict) else None
    for span in spans if isinstance(spans, list) else []:
        if isinstance(span, dict) and isinstance(span.get("name"), str):
            value = number(span, "durationMs")
            if value is not None:
                out[span["name"]] = value
    return out


def _post_runtime_ms(report: dict[str, Any] | None, done: dict[str, Any] | None) -> float | None:
    overhead = _spans(report).get("extensionOverhead")
    if overhead is not None:
        return overhead
    total, runtime = number(report, "metrics", "durationMs"), number(done, "metrics", "durationMs")
    return max(total - runtime, 0.0) if total is not None and runtime is not None else None


def log_record(entry: LogEntry, request_id: str | None, trace_id: str, span_id: str) -> ob.JsonDict:
    """One function/extension log line as an OTLP log record correlated to its invocation."""
    line = entry.line
    attrs: dict[str, object] = {"faas.invocation_id": request_id, "aws.lambda.log.source": entry.source}
    attrs.update(line.attrs)
    return ob.log_record(
        time_ns=entry.time_ns,
        body=line.body,
        severity_number=line.severity_number,
        severity_text=line.severity_text,
        attrs=attrs,
        trace_id=trace_id,
        span_id=span_id,
    )
