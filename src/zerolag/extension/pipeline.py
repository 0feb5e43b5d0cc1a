"""The pipeline: store (memory + spool) → sender thread → backend, steered by the flush policy.

Thread-safe; ``submit`` never blocks on the network. One sender thread sends one batch at a time. A batch
stays owned by the pipeline until the backend acknowledges it: a failed or abandoned send goes back to the
store, so no send loses data; sends that may have reached the backend before failing are counted as
``duplicate_risk``.

Lifecycle used by the main loop: ``begin_invocation`` (thaw: sends allowed) → ``wait_runtime_done`` →
``flush(deadline)`` per the policy's end plan → ``quiesce(wait_s)`` (finish or abandon the send in flight, no
new send starts: the sandbox is about to freeze) → ``/event/next``. ``shutdown_flush`` at SHUTDOWN.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from zerolag.extension.backoff import Backoff, parse_retry_after, retryable
from zerolag.extension.breaker import CircuitBreaker
from zerolag.extension.buffer import Batch, Chunk
from zerolag.extension.counters import Counters
from zerolag.extension.flush import BufferState, FlushPolicy
from zerolag.extension.forwarder import Forwarder, SendResult
from zerolag.extension.store import Store
from zerolag.otlp import Signal

_log = logging.getLogger(__name__)
SENDERS = 3  # concurrent sends (one connection each): an end flush of traces, metrics and logs costs one RTT
STALE_CONNECTION_S = 5.0  # a keep-alive connection idle (frozen) this long is dropped before reuse
INF = float("inf")


class Pipeline:
    def __init__(
        self,
        store: Store,
        *,
        forwarder: Forwarder | None,
        policy: FlushPolicy,
        breaker: CircuitBreaker,
        backoff: Backoff,
        counters: Counters,
        clock: Callable[[], float] = time.monotonic,
        senders: int = SENDERS,
    ) -> None:
        self.store = store
        self.forwarder = forwarder
        self.policy = policy
        self.breaker = breaker
        self.backoff = backoff
        self.counters = counters
        self.clock = clock
        self._cond = threading.Condition()
        self._inflight: list[Batch] = []
        self._forwarders = (
            [] if forwarder is None else [forwarder, *(forwarder.clone() for _ in range(senders - 1))]
        )
        self._aborting = False
        self._paused = False
        self._flush_until: float | None = None
        self._next_attempt = 0.0
        self._failures = 0
        self._closed = False
        self._last_activity = clock()
        self._done: deque[str] = deque(maxlen=64)
        self._expect_done = False
        self._done_source = False  # runtime_done has been called at least once: a source exists
        self._holding_end = True  # the loop will run an end plan for this invocation
        self._warned_no_backend = False

    # --- the seam (docs/INTERFACES.md) ----------------------------------------------------------------------
    def submit(self, signal: Signal, data: bytes, items: int, request_id: str | None = None) -> None:
        self.counters.add("received", items)
        if self.forwarder is None:
            self.counters.add("dropped", items)
            if not self._warned_no_backend:
                self._warned_no_backend = True
                _log.warning("ZEROLAG_OTLP_ENDPOINT is not set: telemetry is received and dropped")
            return
        with self._cond:
            self.store.add(Chunk(signal, data, items, self.clock()))
            self._cond.notify_all()

    def runtime_done(self, request_id: str) -> None:
        with self._cond:
            self._done.append(request_id)
            self._done_source = True
            self._cond.notify_all()

    def expect_runtime_done(self, expect: bool = True) -> None:
        self._expect_done = expect
        if not expect:
            self._done_source = False  # it stopped coming: do not wait for it until it shows up again

    @property
    def expects_runtime_done(self) -> bool:
        return self._expect_done

    @property
    def runtime_done_available(self) -> bool:
        """Has any end signal arrived yet (so one can be waited for when a flush at the end is wanted)?"""
        return self._expect_done or self._done_source

    def hold_end(self, holding: bool) -> None:
        """The loop says whether it will run an end plan for this invocation. When it will not, even the
        ``end`` strategy sends in the background (there is no end to flush at)."""
        with self._cond:
            self._holding_end = holding
            self._cond.notify_all()

    def count(self, name: str, n: int = 1) -> None:
        self.counters.add(name, n)

    def add_internal(self, chunk: Chunk) -> None:
        """Store the extension's own data (self-metrics): not counted as received."""
        with self._cond:
            self.store.add(chunk)
            self._cond.notify_all()

    def spill_remaining(self) -> int:
        """After the final flush: move what is left to the spool; returns the items that were not sent."""
        with self._cond:
            unsent = self.store.pending_items()
            self.store.spill_all()
        return unsent

    # --- lifecycle
    # --------------------------------------------------------------------------------------------
    def start(self) -> None:
        for i, forwarder in enumerate(self._forwarders):
            thread = threading.Thread(
                target=self._run, args=(forwarder,), name=f"zerolag-sender-{i}", daemon=True
            )
            thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def begin_invocation(self) -> None:
        """The sandbox runs again: allow sends; drop a keep-alive connection that sat through a long
        freeze.
        """
        now = self.clock()
        with self._cond:
            stale = now - self._last_activity > STALE_CONNECTION_S and not self._inflight
            self._paused = False
            self._last_activity = now
            self._cond.notify_all()
        if stale:
            for forwarder in self._forwarders:
                forwarder.reset()

    def wait_runtime_done(self, request_id: str, deadline: float) -> bool:
        with self._cond:
            while request_id not in self._done:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def buffer_state(self) -> BufferState:
        with self._cond:
            return self.store.state(self.clock())

    def idle(self) -> bool:
        with self._cond:
            return self.store.empty() and not self._inflight

    def flush(self, deadline: float) -> bool:
        """Send everything until ``deadline``; True when all was acknowledged. Returns early when the
        breaker or the backoff would make the wait useless (a dead backend costs no invocation time).
        """
        with self._cond:
            self._flush_until = deadline
            self._cond.notify_all()
            try:
                while not (self.store.empty() and not self._inflight):
                    now = self.clock()
                    blocked = self._blocked_until(now)
                    if now >= deadline or (not self._inflight and blocked >= deadline):
                        return False
                    self._cond.wait(min(deadline, deadline if self._inflight else blocked) - now)
                return True
            finally:
                self._flush_until = None

    def quiesce(self, wait_s: float) -> None:
        """Before ``/event/next``: no new send starts; the one in flight gets ``wait_s`` to finish, then
        is abandoned (and resent later). ``wait_s == 0`` lets it straddle a short freeze instead.
        """
        with self._cond:
            self._paused = True
            end = self.clock() + wait_s
            while self._inflight and wait_s > 0 and (left := end - self.clock()) > 0:
                self._cond.wait(left)
            if not self._inflight or wait_s <= 0:
                return
            self._aborting = True
        for forwarder in self._forwarders:
            forwarder.abort()
        with self._cond:
            self._cond.wait_for(lambda: not self._inflight, timeout=1.0)

    # --- the sender
    # -------------------------------------------------------------------------------------------
    def _blocked_until(self, now: float) -> float:
        """When a send could start, at the earliest, given backoff and breaker (``now`` if it could now)."""
        return max(now, self._next_attempt, now + self.breaker.retry_in(now))

    def _wait_time(self, now: float) -> float:
        if self.store.empty():
            return INF
        blocked = self._blocked_until(now) - now
        if self._flush_until is not None:
            return blocked
        if self._paused:
            return INF
        background = self.policy.background_wait(now, self.store.state(now))
        if background == INF and not self._holding_end:
            background = 0.0
        return max(blocked, background)

    def _run(self, forwarder: Forwarder) -> None:
        while True:
            with self._cond:
                while (wait := self._wait_time(self.clock())) > 0:
                    if self._closed:
                        return
                    self._cond.wait(None if wait == INF else wait)
                if not self.breaker.allow(self.clock()):
                    self._cond.wait(0.01)
                    continue
                batch = self.store.next_batch()
                if batch is None:
                    self.breaker.cancel_probe()
                    continue
                self._inflight.append(batch)
            result = forwarder.send(batch.signal, batch.payload())
            with self._cond:
                self._settle(batch, result)
                self._inflight.remove(batch)
                if not self._inflight:
                    self._aborting = False
                self._cond.notify_all()

    def _settle(self, batch: Batch, result: SendResult) -> None:
        now = self.clock()
        items = batch.items
        if result.reached:
            self.counters.add("duplicate_risk", items)
        if self._aborting:
            self.counters.add("abandoned", items)
        if result.ok:
            self.counters.add("sent", items)
            self.breaker.record_success()
            self._failures = 0
            self._next_attempt = 0.0
            self.policy.on_flushed(now)
            return
        if result.status is not None and not retryable(result.status):
            self.counters.add("dropped", items)  # the backend refused the data itself: resending cannot help
            self.breaker.record_success()
            _log.warning(
                "backend refused a %s batch with HTTP %s: %d items dropped",
                batch.signal,
                result.status,
                items,
            )
            return
        self._failures += 1
        self.counters.add("retried", items)
        self.store.requeue(batch)
        retry_after = parse_retry_after(result.retry_after, time.time())
        self._next_attempt = now + self.backoff.delay(self._failures, retry_after)
        self.breaker.record_failure(now)
