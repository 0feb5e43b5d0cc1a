"""The event loop: ``/event/next`` → INVOKE (end-of-invocation plan) or SHUTDOWN (final flush), and the self-
telemetry (counters as a JSON log line and as OTLP metrics).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

from zerolag.extension import extapi
from zerolag.extension.context import ExtensionContext
from zerolag.extension.counters import metrics_request, resource_from_env

_log = logging.getLogger("zerolag.extension")
SELF_EXPORT_S = 60.0
MAX_MISSED_DONE = 3  # runtime_done missed this often in a row: stop waiting for it
SHUTDOWN_FALLBACK_S = 1.5  # when a SHUTDOWN carries no usable deadline
SPILL_RESERVE_MAX_S = 0.25


class EventLoop:
    def __init__(self, ctx: ExtensionContext, env: Mapping[str, str]) -> None:
        self.ctx = ctx
        self.pipeline = ctx.pipeline
        self.config = ctx.config
        self._resource = resource_from_env(env)
        self._start_ns = time.time_ns()
        self._last_export = time.monotonic()
        self._missed_done = 0
        self.invocations = 0

    def run(self) -> int:
        while True:
            try:
                raw = extapi.next_event(self.ctx.runtime_api, self.ctx.extension_id)
                event: dict[str, Any] = json.loads(raw)
            except (extapi.ExtensionApiError, ValueError) as exc:
                _log.error("event/next failed: %s; flushing and exiting", exc)
                self.shutdown(time.monotonic() + SHUTDOWN_FALLBACK_S, "error")
                return 1
            now = time.monotonic()
            self.ctx.run_event_hooks(event)
            if event.get("eventType") == "SHUTDOWN":
                deadline = _monotonic_deadline(event.get("deadlineMs"), now, None)
                self.shutdown(deadline or now + SHUTDOWN_FALLBACK_S, str(event.get("shutdownReason", "")))
                return 0
            self.invoke(event, now)

    def invoke(self, event: dict[str, Any], now: float) -> None:
        self.invocations += 1
        pipeline = self.pipeline
        pipeline.policy.on_invoke(now)
        pipeline.begin_invocation()
        self.maybe_export_self(now, force=False)
        deadline = _monotonic_deadline(event.get("deadlineMs"), now, None)
        if not self._hold(pipeline, now, deadline):
            # Nothing to do at the end (or no end signal to wait for): back to /event/next at once; the
            # sender works in the background while the sandbox runs, and sends may straddle the freeze.
            pipeline.hold_end(False)
            return
        pipeline.hold_end(True)
        margin = self.config.deadline_margin_ms / 1000
        wait_until = (deadline - margin) if deadline is not None else now + 900.0
        if pipeline.wait_runtime_done(str(event.get("requestId", "")), wait_until):
            self._missed_done = 0
        else:
            self._missed_done += 1
            if self._missed_done >= MAX_MISSED_DONE:
                _log.warning(
                    "runtime_done missed %d times in a row: no longer waiting for it", self._missed_done
                )
                pipeline.expect_runtime_done(False)
        end = time.monotonic()
        plan = pipeline.policy.end_plan(end, deadline, pipeline.buffer_state())
        if plan.flush_s > 0 and pipeline.flush(end + plan.flush_s):
            pipeline.policy.on_flushed(time.monotonic())
        pipeline.quiesce(max(0.0, end + plan.wait_s - time.monotonic()) if plan.wait_s > 0 else 0.0)
        if _log.isEnabledFor(logging.DEBUG):
            fields = {
                "plan": plan.reason,
                "waited_ms": round((end - now) * 1000, 3),
                "end_ms": round((time.monotonic() - end) * 1000, 3),
            }
            _log.debug("invocation end", extra={"fields": fields})

    @staticmethod
    def _hold(pipeline: Any, now: float, deadline: float | None) -> bool:
        """Hold /event/next until the runtime is done? Always when a plugin asked for it (an agent reports its
        end); otherwise only when an end signal exists and the policy wants an end-of-invocation flush, since
        waiting for the Telemetry API's runtimeDone costs its buffering time (>= 25 ms) of billed duration."""
        if pipeline.expects_runtime_done:
            return True
        if not pipeline.runtime_done_available:
            return False
        return bool(pipeline.policy.end_plan(now, deadline, pipeline.buffer_state()).flush_s > 0)

    def shutdown(self, deadline: float, reason: str) -> None:
        """The last chance: send everything by ``deadline`` minus the margin whatever the breaker says; spool
        and report (per signal) what could not be sent."""
        margin = self.config.deadline_margin_ms / 1000
        self.ctx.run_shutdown_hooks(deadline - margin)
        self.maybe_export_self(time.monotonic(), force=True)
        pipeline = self.pipeline
        pipeline.begin_invocation()
        # Time kept back to write what is left to the spool (disk at >= 50 MB/s) after the sends stop.
        end = deadline - margin - min(SPILL_RESERVE_MAX_S, pipeline.store.memory.capacity / 50e6)
        done = pipeline.final_flush(end)
        pipeline.quiesce(max(0.001, end + margin / 4 - time.monotonic()), settle_s=margin / 4)
        pipeline.close()
        by_signal = pipeline.unsent()
        unsent = pipeline.spill_remaining()
        if unsent:
            pipeline.counters.add("shutdown_unsent", unsent)
        fields: dict[str, Any] = {"reason": reason, "flushed": done, "unsent_items": unsent}
        fields["unsent_by_signal"] = by_signal
        fields.update(pipeline.counters.snapshot())
        fields["spool_peak_bytes"] = pipeline.store.spool_peak_bytes
        fields["memory_peak_bytes"] = pipeline.store.memory_peak_bytes
        fields["spool_entries"] = len(pipeline.store.spool.index)
        fields["memory_bound_bytes"] = pipeline.store.memory.capacity
        fields["rss_peak_kb"] = _peak_rss_kb()
        _log.info("shutdown", extra={"fields": fields})

    def maybe_export_self(self, now: float, *, force: bool) -> None:
        """Log the counters and hand them to the pipeline as OTLP metrics (every ``SELF_EXPORT_S``)."""
        if not force and now - self._last_export < SELF_EXPORT_S:
            return
        self._last_export = now
        values = self.pipeline.counters.snapshot()
        _log.info("counters", extra={"fields": values})
        if not self.config.self_metrics or self.pipeline.forwarder is None:
            return
        from zerolag.extension.buffer import Chunk
        from zerolag.otlp import protobuf

        data = protobuf.encode(
            "metrics", metrics_request(values, self._start_ns, time.time_ns(), self._resource)
        )
        # 0 items: the extension's own metrics stay out of the received/sent counts of the function's data;
        # ``internal`` says how many data points the request holds, so a spooled or split batch that carries
        # them never counts them as sent (one data point per counter).
        self.pipeline.add_internal(Chunk("metrics", data, 0, now, internal=len(values)))


def _peak_rss_kb() -> int:
    """The extension process's peak resident set size (kB), 0 where the platform does not say. ``VmHWM``,
    not ``getrusage``: Linux carries ``ru_maxrss`` over ``execve``, so it would report the launcher's peak."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _monotonic_deadline(deadline_ms: object, now: float, fallback: None) -> float | None:
    """An epoch-ms deadline on the monotonic clock (None when absent)."""
    if isinstance(deadline_ms, (int, float)) and not isinstance(deadline_ms, bool) and deadline_ms > 0:
        return now + (float(deadline_ms) - time.time() * 1000) / 1000
    return fallback
