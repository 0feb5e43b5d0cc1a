"""What one ended invocation becomes: the decision between a synthesized span, a platform-outcome span or
nothing (the agent reported it), plus its metrics and correlated logs. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from zerolag.extension.telemetry import agent_ids, build
from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.outcome import outcome
from zerolag.extension.telemetry.state import Invocation


@dataclass
class Finished:
    """The OTLP items of one invocation and where an init span would hang."""

    spans: list[ob.JsonDict] = field(default_factory=list)
    metrics: list[ob.JsonDict] = field(default_factory=list)
    logs: list[ob.JsonDict] = field(default_factory=list)
    trace_id: str = ""
    init_parent: str = ""
    synthesized: bool = False
    outcome_span: bool = False
    failed: bool = False


def finish(
    inv: Invocation,
    reason: str | None,
    now_ns: int,
    function_name: str,
    memory_mb: float | None,
    *,
    untagged: Iterable[agent_ids.UntaggedBatch] = (),
) -> Finished:
    """Build everything ``inv`` yields. ``reason`` is the SHUTDOWN reason when no report closed it;
    ``untagged`` are recent trace batches without a request id, searched for this invocation's SERVER span."""
    result = outcome(inv, reason, now_ns)
    agent = inv.agent
    forward_logs = bool(inv.logs) and "logs" not in agent.signals
    need_ids = result.failed or forward_logs or not agent.final or inv.cold_start  # cold: init span parent
    ids = agent_ids.resolve(agent) if agent.trace_batches and need_ids else None
    if ids is None and not agent.signals:
        ids = agent_ids.match_untagged(untagged, inv.request_id)
    done = Finished(failed=result.failed)
    done.synthesized = not agent.final and not (ids is not None and ids.server)
    trace_id, span_id, parent = build.invocation_ids(inv, ids)
    if done.synthesized:
        done.spans.append(build.invocation_span(inv, result, function_name, ids, memory_mb))
    else:
        if result.failed:
            done.spans.append(build.outcome_span(inv, result, function_name, ids))
            done.outcome_span = True
        if ids is None:  # the agent's ids are unknown: correlate by trace only
            span_id = ""
            trace_id = inv.trace.trace_id if inv.trace else ""
    done.trace_id = trace_id
    done.init_parent = span_id if (done.synthesized or ids) else parent
    done.metrics = build.invocation_metrics(inv, result, now_ns)
    if forward_logs:
        done.logs = [build.log_record(e, inv.request_id, trace_id, span_id) for e in inv.logs]
    return done
