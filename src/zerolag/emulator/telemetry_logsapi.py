"""Telemetry API events as the Logs API 2020-08-15 shows them (contract section 3). Pure.

Logs API subscribers see ``platform.start{requestId}``, ``platform.end{requestId}``,
``platform.report{requestId, metrics}``, ``platform.fault`` (a string), ``platform.extension``,
``platform.logsSubscription`` and ``platform.logsDropped``; schema 2021-03-18 adds
``platform.runtimeDone{requestId, status}`` with status success|failure|timeout. The init events have no
Logs API form. ``platform.end`` is sent just before ``platform.report``, as CloudWatch prints END before
REPORT.
Function and extension records are always the line string.
"""

from __future__ import annotations

from typing import Any, Final

from zerolag.lambda_wire import ERR_RUNTIME_EXIT, ERR_RUNTIME_OOM, TelemetryEvent

LOGS_SCHEMA_RUNTIME_DONE: Final = "2021-03-18"
REPORT_METRICS: Final = (
    "durationMs",
    "billedDurationMs",
    "memorySizeMB",
    "maxMemoryUsedMB",
    "initDurationMs",
)
LOGS_ONLY_TYPES: Final = frozenset({"platform.end", "platform.fault", "platform.logsSubscription"})
PASSTHROUGH: Final = frozenset({"platform.extension", "platform.logsDropped", *LOGS_ONLY_TYPES})


def to_logs_api(event: TelemetryEvent, schema: str) -> list[TelemetryEvent]:
    """The Logs API events (zero or more) for one Telemetry API event under Logs API ``schema``."""
    kind, record, time = event["type"], event["record"], event["time"]
    if kind in PASSTHROUGH or kind in ("function", "extension"):
        return [event]
    if not isinstance(record, dict):
        return []
    if kind == "platform.start":
        return [_event(time, kind, _pick(record, ("requestId", "version")))]
    if kind == "platform.runtimeDone" and schema == LOGS_SCHEMA_RUNTIME_DONE:
        return [_event(time, kind, {"requestId": record.get("requestId"), "status": _status(record)})]
    if kind == "platform.report":
        return _report(time, record)
    return []


def _report(time: str, record: dict[str, Any]) -> list[TelemetryEvent]:
    rid = record.get("requestId")
    metrics = _pick(record.get("metrics") or {}, REPORT_METRICS)
    out = [_event(time, "platform.end", {"requestId": rid})]
    out.append(_event(time, "platform.report", {"requestId": rid, "metrics": metrics}))
    fault = fault_text(record)
    if fault is not None:
        out.append(_event(time, "platform.fault", fault))
    return out


def fault_text(record: dict[str, Any]) -> str | None:
    """The platform.fault string for an invocation that ended in failure, timeout or a runtime crash, else
    None."""
    status = record.get("status")
    crashed = record.get("errorType") in (ERR_RUNTIME_EXIT, ERR_RUNTIME_OOM)  # reported with status error
    if status not in ("failure", "timeout") and not crashed:
        return None
    error = record.get("errorType") or ("Sandbox.Timedout" if status == "timeout" else "Runtime.Unknown")
    return f"RequestId: {record.get('requestId')} Error: {error}"


def _status(record: dict[str, Any]) -> str:
    status = record.get("status")
    return status if status in ("success", "timeout") else "failure"


def _pick(record: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: record[k] for k in keys if record.get(k) is not None}


def _event(time: str, kind: str, record: object) -> TelemetryEvent:
    return {"time": time, "type": kind, "record": record}
