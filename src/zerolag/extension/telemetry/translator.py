"""Telemetry API events → OTLP spans, metrics and logs (the pure core; I/O stays in listener/service).

Feed it deliveries (:meth:`TelemetryTranslator.handle_body`), the Extensions API events (:meth:`on_invoke`,
:meth:`on_shutdown`) and what the agent sent (:meth:`on_agent_data`). It calls ``emit(signal, request,
request_id)`` with OTLP export requests in the dict form of ``zerolag.otlp``. An invocation is finalized at
its ``platform.report`` (or at SHUTDOWN): by then the agent has handed over its data, so the translator knows
whether to synthesize the invocation span (only when the agent never sent ``X-Zerolag-Final`` for it) and
which trace/span ids its logs belong to. Bad input is counted in :attr:`stats` and logged, never raised.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from typing import Any, Final

from zerolag.extension.telemetry import agent_ids, build, finalize
from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.batch import BatchError, Event, parse_batch
from zerolag.extension.telemetry.handlers import HANDLERS, IGNORED_TYPES, EventHandlers
from zerolag.extension.telemetry.state import InitPhase, Invocation
from zerolag.otlp import Signal

Emit = Callable[[Signal, dict[str, Any], "str | None"], None]
MAX_OPEN_INVOCATIONS: Final = 64
MAX_UNTAGGED_BATCHES: Final = 16
MAX_UNTAGGED_BYTES: Final = 512 * 1024
MAX_FINISHED_IDS: Final = 256
_log = logging.getLogger(__name__)


class TelemetryTranslator(EventHandlers):
    """Turns Telemetry API events into OTLP requests, one invocation at a time. Thread-safe."""

    def __init__(
        self,
        *,
        function_name: str,
        resource: Mapping[str, object],
        emit: Emit,
        memory_mb: float | None = None,
        clock: Callable[[], int] = time.time_ns,
        on_runtime_done: Callable[[str, bool], None] | None = None,
    ) -> None:
        self._function_name = function_name
        self._resource = dict(resource)
        self._emit = emit
        self._memory_mb = memory_mb
        self._clock = clock
        self._on_runtime_done_cb = on_runtime_done
        self._done: list[tuple[str, bool]] = []
        self._agent_ever = False
        self._cond = threading.Condition()
        self._open: dict[str, Invocation] = {}
        self._current: str | None = None
        self._agent_absent = False  # known once an invocation ended with no agent data at all
        self._last_started: str | None = None
        self._next_cold = True
        self._init: InitPhase | None = None
        self._init_emitted = False
        self._untagged: deque[agent_ids.UntaggedBatch] = deque(maxlen=MAX_UNTAGGED_BATCHES)
        self._finished: deque[str] = deque(maxlen=MAX_FINISHED_IDS)  # re-deliveries and late agent data
        self._finished_set: set[str] = set()
        self.stats: Counter[str] = Counter()

    # --- inputs ---------------------------------------------------------------------------------------------
    def handle_body(self, body: bytes) -> None:
        """One delivery (the POST body): malformed bodies and items are counted and logged."""
        try:
            events, invalid = parse_batch(body)
        except BatchError as exc:
            self.stats["bad_batches"] += 1
            _log.warning("telemetry delivery rejected: %s", exc)
            return
        if invalid:
            self.stats["bad_events"] += invalid
            _log.warning("telemetry delivery had %d malformed events", invalid)
        self.handle_events(events)

    def handle_events(self, events: list[Event]) -> None:
        """Valid events, in delivery order."""
        out: list[tuple[Signal, list[ob.JsonDict], str | None]] = []
        with self._cond:
            for event in events:
                self.stats["events"] += 1
                try:
                    self._dispatch(event, out)
                except (TypeError, ValueError, KeyError, AttributeError) as exc:
                    self.stats["bad_events"] += 1
                    _log.warning("telemetry event %s not understood: %s", event.type, exc)
            self._cond.notify_all()
            done, self._done = self._done, []
        self._send(out)
        callback = self._on_runtime_done_cb
        if callback is not None:
            for request_id, agent_pending in done:
                callback(request_id, agent_pending)

    def on_invoke(self, event: Mapping[str, Any]) -> None:
        """An INVOKE event from the Extensions API (request id, ARN, deadline, X-Ray/W3C tracing)."""
        request_id = event.get("requestId")
        if not isinstance(request_id, str) or not request_id:
            return
        out: list[tuple[Signal, list[ob.JsonDict], str | None]] = []
        with self._cond:
            if self._late(request_id):
                return
            inv = self._get(request_id, out)
            inv.invoked = True
            inv.invoked_arn = str(event.get("invokedFunctionArn") or inv.invoked_arn)
            deadline = event.get("deadlineMs")
            inv.deadline_ms = deadline if isinstance(deadline, int) else inv.deadline_ms
            tracing = event.get("tracing")
            if isinstance(tracing, Mapping):
                inv.set_tracing(tracing.get("value"))
        self._send(out)

    def on_agent_data(self, request_id: str, signal: str, payload: bytes, final: bool) -> None:
        """The agent sent a batch tagged ``X-Zerolag-Request-Id`` (``final``: ``X-Zerolag-Final: true``)."""
        out: list[tuple[Signal, list[ob.JsonDict], str | None]] = []
        with self._cond:
            self._agent_absent, self._agent_ever = False, True
            if not self._late(request_id):
                inv = self._get(request_id, out)
                inv.agent.add(signal, payload, final)
                if final and inv.report is not None:
                    self._finalize(inv, out, None)
        self._send(out)

    def on_untagged_traces(self, payload: bytes) -> None:
        """A trace batch without a request id (e.g. from the OTel SDK): kept briefly so an invocation whose
        SERVER span it holds (matched by ``faas.invocation_id``) is not synthesized twice."""
        if 0 < len(payload) <= MAX_UNTAGGED_BYTES:  # bounded memory: 16 x 512 KiB at most
            with self._cond:
                self._untagged.append(agent_ids.UntaggedBatch(payload))
                self._agent_absent = False

    def on_shutdown(self, reason: str) -> None:
        """SHUTDOWN: finalize every open invocation (timeout/failure ones as errors) and the init span."""
        out: list[tuple[Signal, list[ob.JsonDict], str | None]] = []
        with self._cond:
            for inv in list(self._open.values()):
                started = inv.start_ns is not None or inv.runtime_done is not None
                if started or (inv.invoked and reason != "spindown"):
                    self._finalize(inv, out, reason)
                else:
                    self._open.pop(inv.request_id, None)
            self._flush_init(out, None)
        self._send(out)

    def wait_settled(self, timeout: float) -> bool:
        """Wait until every open invocation that started has its report (it is then finalized); bounded."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while any(i.start_ns is not None and i.report is None for i in self._open.values()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def open_invocations(self) -> list[str]:
        """Request ids not yet finalized (for tests and shutdown decisions)."""
        with self._cond:
            return list(self._open)

    # --- event handling -----------------------------------------------------------------------------------
    def _dispatch(self, event: Event, out: list[tuple[Signal, list[ob.JsonDict], str | None]]) -> None:
        kind, record, t = event.type, event.record, event.time_ns
        if kind in ("function", "extension"):
            self._on_log(kind, record, t, out)
            return
        if kind in IGNORED_TYPES:
            self.stats["ignored_events"] += 1
            return
        handler = HANDLERS.get(kind)
        if handler is None:
            self.stats["unknown_types"] += 1
            _log.warning("unknown telemetry event type %r ignored", kind)
            return
        if not isinstance(record, dict):
            raise TypeError("record is not an object")
        handler(self, record, t, out)

    def _get(self, request_id: str, out: list[Any]) -> Invocation:
        inv = self._open.get(request_id)
        if inv is None:
            if len(self._open) >= MAX_OPEN_INVOCATIONS:
                oldest = next(iter(self._open.values()))
                self.stats["evicted_invocations"] += 1
                self._finalize(oldest, out, None)
            inv = Invocation(request_id=request_id, seen_ns=self._clock())
            self._open[request_id] = inv
        return inv

    def _late(self, request_id: str) -> bool:
        """An event for an invocation already finalized (a re-delivery, late agent data): counted, ignored."""
        if request_id in self._finished_set:
            self.stats["late_events"] += 1
            return True
        return False

    def _finalize(self, inv: Invocation, out: list[Any], reason: str | None) -> None:
        self._open.pop(inv.request_id, None)
        if len(self._finished) == self._finished.maxlen:
            self._finished_set.discard(self._finished[0])
        self._finished.append(inv.request_id)
        self._finished_set.add(inv.request_id)
        if self._current == inv.request_id:
            self._current = None
        if inv.report is not None and not inv.agent.signals:
            # no tagged agent data for a whole invocation: nothing will ever send a final batch for it
            self.stats["agentless_invocations"] += 1
            if not self._untagged:
                self._agent_absent = True  # and no agent at all: finalize at report from now on
        done = finalize.finish(
            inv, reason, self._clock(), self._function_name, self._memory_mb, untagged=self._untagged
        )
        if inv.cold_start:
            init = self._init_span(done.trace_id, done.init_parent)
            done.spans.extend([init] if init else [])
        rid = inv.request_id
        for signal, items in (("traces", done.spans), ("metrics", done.metrics), ("logs", done.logs)):
            if items:
                out.append((signal, items, rid))
        self.stats["invocations"] += 1
        self.stats["synthesized_spans"] += int(done.synthesized)
        self.stats["error_spans"] += int(done.synthesized and done.failed)
        self.stats["outcome_spans"] += int(done.outcome_span)

    def _init_span(self, trace_id: str, parent: str) -> ob.JsonDict | None:
        if self._init is None or self._init_emitted or not trace_id:
            return None
        self._init_emitted = True
        return build.init_span(self._init, self._function_name, trace_id, parent)

    def _flush_init(self, out: list[Any], trace_id: str | None) -> None:
        if self._init is None or self._init_emitted:
            return
        span = self._init_span(trace_id or build.standalone_init_trace(self._init), "")
        if span is not None:
            out.append(("traces", [span], None))

    def _send(self, out: list[tuple[Signal, list[ob.JsonDict], str | None]]) -> None:
        for signal, items, request_id in out:
            try:
                self._emit(signal, ob.request(signal, self._resource, items), request_id)
            except Exception:  # the sink is someone else's code: never let it break the listener
                self.stats["emit_errors"] += 1
                _log.exception("emitting %s failed", signal)
