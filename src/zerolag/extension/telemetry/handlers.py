"""Per-event-type handlers of the translator (a mixin: the state lives in ``TelemetryTranslator``)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from zerolag.extension.telemetry import build
from zerolag.extension.telemetry.emf import EmfError, emf_to_metrics
from zerolag.extension.telemetry.logs import parse_log_record
from zerolag.extension.telemetry.state import InitPhase, Invocation, LogEntry

_log = logging.getLogger("zerolag.extension.telemetry.translator")
IGNORED_TYPES: Final = frozenset(
    {
        "platform.extension",
        "platform.telemetrySubscription",
        "platform.logsSubscription",
        "platform.restoreStart",
        "platform.restoreRuntimeDone",
        "platform.restoreReport",
        "platform.fault",
        "platform.end",
    }
)


class EventHandlers:
    """``_on_<type>(record, time_ns, out)`` for each platform event type, and function/extension log lines."""

    stats: Counter[str]
    _open: dict[str, Invocation]
    _current: str | None
    _last_started: str | None
    _next_cold: bool
    _init: InitPhase | None
    _init_emitted: bool
    _done: list[tuple[str, bool]]
    _agent_ever: bool
    _agent_absent: bool

    def _get(self, request_id: str, out: list[Any]) -> Invocation:
        raise NotImplementedError

    def _late(self, request_id: str) -> bool:
        raise NotImplementedError

    def _finalize(self, inv: Invocation, out: list[Any], reason: str | None) -> None:
        raise NotImplementedError

    def _flush_init(self, out: list[Any], trace_id: str | None) -> None:
        raise NotImplementedError

    def _on_init_start(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        self._flush_init(out, None)
        self._init, self._init_emitted, self._next_cold = InitPhase(start_ns=t, start=record), False, True

    def _on_init_runtime_done(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        init = self._init or InitPhase()
        init.runtime_done, init.runtime_done_ns, self._init = record, t, init

    def _on_init_report(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        init = self._init or InitPhase()
        init.report, init.report_ns, self._init = record, t, init
        if record.get("status", "success") != "success":
            self._flush_init(out, None)

    def _on_start(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        request_id = _request_id(record)
        known = self._open.get(request_id)
        if self._late(request_id):
            return
        if known is not None and known.start_ns is not None:  # a re-delivered start
            self.stats["late_events"] += 1
            return
        inv = self._get(request_id, out)
        inv.start_ns = t if inv.start_ns is None else inv.start_ns
        tracing = record.get("tracing")
        if isinstance(tracing, dict):
            inv.set_tracing(tracing.get("value"))
        inv.version = str(record.get("version") or "")
        inv.cold_start, self._next_cold = self._next_cold, False
        self._current = self._last_started = inv.request_id

    def _on_runtime_done(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        if self._late(_request_id(record)):
            return
        inv = self._get(_request_id(record), out)
        inv.runtime_done, inv.runtime_done_ns = record, t
        # (request id, whether an agent that has not handed over yet may still be exporting)
        waiting = self._agent_ever and not inv.agent.final and record.get("status") == "success"
        self._done.append((inv.request_id, waiting))
        if self._current == inv.request_id:
            self._current = None

    def _on_report(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        if self._late(_request_id(record)):
            return
        inv = self._get(_request_id(record), out)
        for waiting in [i for i in self._open.values() if i.report is not None and i is not inv]:
            # a later invocation has ended: an agent (even one frozen mid-export) has sent what it had
            self._finalize(waiting, out, None)
        inv.report, inv.report_ns = record, t
        if isinstance(record.get("metrics"), dict) and "initDurationMs" in record["metrics"]:
            inv.cold_start = True
        if inv.agent.final or self._agent_absent:
            self._finalize(inv, out, None)
        # else an agent may still be exporting (asynchronously, or frozen before it could): the invocation
        # ends at the agent's final batch, at the next invocation's report, or at SHUTDOWN.

    def _on_logs_dropped(self, record: dict[str, Any], t: int, out: list[Any]) -> None:
        dropped = record.get("droppedRecords")
        self.stats["platform_logs_dropped"] += dropped if isinstance(dropped, int) else 0

    def _on_log(self, source: str, record: object, t: int, out: list[Any]) -> None:
        line = parse_log_record(record)
        # A line without a request id belongs to the running invocation; one that arrives after runtimeDone
        # (stdout is drained asynchronously) to the last one started, if any.
        fallback = (self._current or self._last_started) if source == "function" else None
        request_id = line.request_id or fallback
        if line.emf is not None:
            try:
                metrics = emf_to_metrics(line.emf, t, request_id)
            except EmfError as exc:
                self.stats["bad_emf"] += 1
                _log.warning("EMF line not translated: %s", exc)
            else:
                self.stats["emf_metrics"] += len(metrics)
                if metrics:
                    out.append(("metrics", metrics, request_id))
                return
        entry = LogEntry(t, line, source)
        inv = self._open.get(request_id) if request_id else None
        if line.error is not None and source == "function":
            if inv is not None:
                inv.printed_error = line.error
            elif self._init is not None and not self._init_emitted:
                self._init.printed_error = line.error
        if inv is not None and source == "function":
            if inv.add_log(entry):  # bounded memory: send early, without the span id only known at the end
                pending = inv.take_logs()
                if "logs" not in inv.agent.signals:  # the agent forwards these lines itself
                    trace_id = inv.trace.trace_id if inv.trace else ""
                    early = [build.log_record(e, request_id, trace_id, "") for e in pending]
                    out.append(("logs", early, request_id))
                    self.stats["early_log_batches"] += 1
        else:
            out.append(("logs", [build.log_record(entry, request_id, "", "")], request_id))

    # --- bookkeeping ----------------------------------------------------------------------------------------


def _request_id(record: dict[str, Any]) -> str:
    request_id = record.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        raise ValueError("record has no requestId")
    return request_id


HANDLERS: Final[dict[str, Callable[[EventHandlers, dict[str, Any], int, list[Any]], None]]] = {
    "platform.initStart": EventHandlers._on_init_start,
    "platform.initRuntimeDone": EventHandlers._on_init_runtime_done,
    "platform.initReport": EventHandlers._on_init_report,
    "platform.start": EventHandlers._on_start,
    "platform.runtimeDone": EventHandlers._on_runtime_done,
    "platform.report": EventHandlers._on_report,
    "platform.logsDropped": EventHandlers._on_logs_dropped,
}
