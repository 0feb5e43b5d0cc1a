"""A whole trace, across functions: every span of one trace id (an HTTP, SQS or SNS hop carries the trace
context, so the callee's spans share the caller's trace), its invocations, and the traces its spans link
to or are linked from (a consumer that starts a trace of its own links back to the producer's)."""

from __future__ import annotations

from typing import Any, Final

from zerolag.collector.db import Reader
from zerolag.collector.queries import INVOCATION_COLUMNS, SPAN_COLUMNS, span_item

MAX_SPANS: Final = 5000


def trace(db: Reader, trace_id: str) -> dict[str, Any] | None:
    """The trace's spans, invocations and linked traces, or ``None`` when no span has that trace id."""
    rows = db.execute(
        f"SELECT {SPAN_COLUMNS} FROM spans WHERE trace_id = ? ORDER BY start_ns, id LIMIT {MAX_SPANS}",  # noqa: S608
        (trace_id,),
    ).fetchall()
    if not rows:
        return None
    spans = [span_item(db, row) for row in rows]
    invocations = [
        dict(row, cold_start=None if row["cold_start"] is None else bool(row["cold_start"]))
        for row in db.execute(
            f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE trace_id = ? OR request_id IN "  # noqa: S608
            "(SELECT request_id FROM spans WHERE trace_id = ? AND request_id IS NOT NULL) ORDER BY start_ns",
            (trace_id, trace_id),
        )
    ]
    linked_to = sorted({link["trace_id"] for span in spans for link in span["links"]} - {trace_id})
    linked_from = sorted(
        row[0]
        for row in db.execute(
            "SELECT DISTINCT s.trace_id FROM span_links l JOIN spans s ON s.id = l.span_pk "
            "WHERE l.trace_id = ? AND s.trace_id <> ?",
            (trace_id, trace_id),
        )
    )
    functions = list(dict.fromkeys(s["function"] or "?" for s in spans))
    return {
        "trace_id": trace_id,
        "functions": functions,
        "invocations": invocations,
        "spans": spans,
        "linked_to": linked_to,
        "linked_from": linked_from,
        "truncated": len(rows) == MAX_SPANS,
    }
