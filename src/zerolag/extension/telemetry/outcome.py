"""How an invocation ended (status, error type, out-of-memory, run time), from whatever the platform said."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from zerolag.extension.telemetry.state import Invocation
from zerolag.lambda_wire import ERR_RUNTIME_OOM, ERR_SANDBOX_TIMEOUT

SUCCESS: Final = "success"
TIMEOUT: Final = "timeout"
ERROR_STATUSES: Final = frozenset({"error", "failure", TIMEOUT})


def ms_to_ns(value: object) -> int | None:
    """Milliseconds (int or float) to nanoseconds; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        return None
    return round(value * 1_000_000)


def number(record: dict[str, Any] | None, *path: str) -> float | None:
    """A numeric field at ``path`` inside ``record`` (None when missing or not a number)."""
    node: Any = record
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        return None
    return node


@dataclass(frozen=True)
class Outcome:
    """The end of one invocation."""

    status: str
    error_type: str
    oom: bool
    start_ns: int
    end_ns: int

    @property
    def failed(self) -> bool:
        return self.status in ERROR_STATUSES

    @property
    def duration_ms(self) -> float:
        return (self.end_ns - self.start_ns) / 1e6


def outcome(inv: Invocation, shutdown_reason: str | None = None, now_ns: int | None = None) -> Outcome:
    """Decide status, error type, OOM and the real run time of ``inv``.

    ``shutdown_reason`` is the SHUTDOWN reason when a shutdown, not a report, closes the invocation.
    """
    report, done = inv.report, inv.runtime_done
    status = _str(report, "status") or _str(done, "status")
    if not status:
        fallback = SUCCESS if done else "failure"
        status = {TIMEOUT: TIMEOUT, "failure": "failure"}.get(shutdown_reason or "", fallback)
    error_type = _str(report, "errorType") or _str(done, "errorType")
    if not error_type and status == TIMEOUT:
        error_type = ERR_SANDBOX_TIMEOUT
    used, size = number(report, "metrics", "maxMemoryUsedMB"), number(report, "metrics", "memorySizeMB")
    oom = error_type == ERR_RUNTIME_OOM or (
        status != SUCCESS and used is not None and size is not None and used >= size > 0
    )
    start_ns = inv.start_ns if inv.start_ns is not None else inv.seen_ns
    return Outcome(status, error_type, oom, start_ns, start_ns + _run_ns(inv, start_ns, now_ns))


def _str(record: dict[str, Any] | None, key: str) -> str:
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, str) else ""


def _run_ns(inv: Invocation, start_ns: int, now_ns: int | None) -> int:
    """How long the function ran: runtimeDone's duration, else report's, else what the clocks tell."""
    for record in (inv.runtime_done, inv.report):
        ns = ms_to_ns(number(record, "metrics", "durationMs"))
        if ns is not None:
            return ns
    for end in (inv.runtime_done_ns, inv.report_ns, now_ns):
        if end is not None and end >= start_ns:
            return end - start_ns
    return 0
