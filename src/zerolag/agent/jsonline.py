"""The stdout exporter's format: one compact JSON object per invocation, redacted.

``{"zerolag":1,"requestId":…,"resource":{…},"spans":[…],"logs":[…],"metrics":[…]}``; ids are hex, times
are Unix nanoseconds, span kind and status code are the OTLP numbers.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from zerolag.agent.redact import Redactor
    from zerolag.agent.spans import Span


def _span(s: Span, redactor: Redactor) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": f"{s.trace_id:032x}",
        "spanId": f"{s.span_id:016x}",
        "name": s.name,
        "kind": s.kind,
        "start": s.start_time,
        "end": s.end_time,
        "attributes": redactor.attributes(s.attributes),
    }
    if s.parent_id:
        out["parentSpanId"] = f"{s.parent_id:016x}"
    if s.events:
        out["events"] = [{"name": n, "time": t, "attributes": redactor.attributes(a)} for n, t, a in s.events]
    if s.status:
        out["status"] = {"code": s.status, "message": s.status_message}
    return out


def _log(rec: tuple[Any, ...], redactor: Redactor) -> dict[str, Any]:
    ts, sev_num, sev_text, body, trace_id, span_id, attrs = rec
    out: dict[str, Any] = {"time": ts, "severityNumber": sev_num, "severityText": sev_text, "body": body}
    if attrs:
        out["attributes"] = redactor.attributes(attrs)
    if trace_id:
        out["traceId"] = f"{trace_id:032x}"
        out["spanId"] = f"{span_id:016x}"
    return out


def invocation_line(
    job: tuple[str, list[Span], list[tuple[Any, ...]]],
    metric_items: list[Any],
    resource: dict[str, Any],
    redactor: Redactor,
) -> str:
    request_id, spans, logs = job
    doc = {
        "zerolag": 1,
        "requestId": request_id,
        "resource": resource,
        "spans": [_span(s, redactor) for s in spans],
        "logs": [_log(r, redactor) for r in logs],
        "metrics": [
            {"name": n, "unit": u, "kind": k, "points": [[redactor.attributes(a), v] for a, v in pts]}
            for n, u, k, pts in metric_items
        ],
    }
    return json.dumps(doc, separators=(",", ":"), default=str)
