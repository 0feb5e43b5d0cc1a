"""The pipeline: store (memory + spool) → sender thread → backend, steered by the flush policy.

Thread-safe; ``submit`` never blocks on the network. One sender thread sends one batch at a time. A batch
stays owned by the pipeline until the backend acknowledges it: a failed or abandoned send goes back to the
store, so no send loses data; sends that may have reached the backend before failing are counted as
``duplicate_risk``.

Lifecycle used by the main loop: ``begin_invocation`` (thaw: sends allowed) → ``wait_runtime_done`` →
``flush(deadline)`` per the policy's end plan → ``quiesce(wait_s)`` (finish or abandon the send in flight, no
new send starts: the sandbox is about to freeze) → ``/event/next``. ``final_flush`` at SHUTDOWN.

Faults (docs/extension.md, "Delivery guarantee"):

- Backoff and the circuit breaker keep a dead backend from costing invocation time. When the sandbox runs
  again at least ``RESUME_PROBE_S`` after the last failure, one probe goes out at once in the background
  (whatever the flush strategy), so a backend that came back during a freeze is found without waiting out a
  breaker period that may be longer than the sandbox's remaining life.
- SHUTDOWN is the last chance: ``final_flush`` ignores breaker and backoff, gives every batch (split parts,
  spool, memory: oldest first) one real attempt before any is retried, retries with short waits while the
  budget lasts, and leaves exactly the rest for the SHUTDOWN report.
- A backend refusing a batch with 400 or 413 gets it again split in halves (down to the single request for a
  400, further down for a 413) so only the refused part is dropped, counted as ``dropped_refused`` or
  ``dropped_too_large`` and logged with the backend's reason.
- A sender thread never dies: any exception is caught, counted as ``sender_errors``, logged once per kind
  (type and place only: an exception's text may hold a header value), and its batch is retried.
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
from zerolag.otlp import Signal, wire

_log = logging.getLogger(__name__)
SENDERS = 3  # concurrent sends (one connection each): an end flush of traces, metrics and logs costs one RTT
STALE_CONNECTION_S = 5.0  # a keep-alive connection idle (frozen) this long is dropped before reuse
INF = float("inf")
RESUME_PROBE_S = 1.0  # the sandbox runs again this long after the last failure: probe at once
FINAL_RETRY_S = 0.2  # at SHUTDOWN, the longest wait before a batch that failed is tried again
SPLIT_STATUSES = (400, 413)
MAX_LOGGED_KINDS = 64  # distinct sender errors and refusals logged (each once); beyond, only counted


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
        self._final = False  # SHUTDOWN: breaker and backoff no longer hold any batch back
        self._final_retry: deque[Batch] = deque()  # at SHUTDOWN: batches that failed once, tried again later
        self._probe_due = False  # one attempt may go out now in the background (see begin_invocation)
        self._last_failure = -INF
        self._errors_logged: set[str] = set()
        self._inflight_spilled = False  # after SHUTDOWN's spill: a late settle must not count again

    # --- the seam (docs/INTERFACES.md) ----------------------------------------------------------------------
    def submit(self, signal: Signal, data: bytes, items: int, request_id: str | None = None) -> None:
        self.counters.add("received", items)
        if self.forwarder is None:
            self.counters.lose("dropped_no_backend", items)
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

    def unsent(self) -> dict[str, int]:
        """Items not (yet) acknowledged, per signal: buffered, spooled, in flight or waiting for a retry."""
        with self._cond:
            out = self.store.pending_by_signal()
            for batch in [*self._inflight, *self._final_retry]:
                out[batch.signal] = out.get(batch.signal, 0) + batch.items
        return out

    def spill_remaining(self) -> int:
        """After the final flush: move what is left to the spool; returns the items that were not sent."""
        with self._cond:
            while self._final_retry:
                self.store.requeue(self._final_retry.pop())  # from the back: the order is kept
            for batch in self._inflight:
                # A send that would not even stop when abandoned: keep a copy (the backend may get it too).
                self.counters.add("duplicate_risk", batch.items)
                self.store.requeue(Batch(batch.signal, list(batch.chunks), split=batch.split))
            self._inflight_spilled = True
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
            held = self._next_attempt > now or self.breaker.retry_in(now) > 0
            if held and now - self._last_failure >= RESUME_PROBE_S and not self.store.empty():
                # Backoff or breaker would hold the data for longer, but time has passed (most of it frozen,
                # perhaps): one probe now, in the background, finds a backend that came back meanwhile.
                self._next_attempt = 0.0
                self.breaker.expedite(now)
                self._probe_due = True
            self._cond.notify_all()
        if stale:
            for forwarder in self._forwarders:
                forwarder.reset()
        wall = time.monotonic()
        for forwarder in self._forwarders:
            if forwarder.stuck(wall):
                forwarder.abort()  # its batch comes back as a failed attempt: never in flight for ever

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

    def final_flush(self, deadline: float) -> bool:
        """SHUTDOWN: send everything until ``deadline``; True when all was acknowledged. Neither the breaker
        nor the backoff holds anything back: every batch gets at least one attempt while time remains,
        oldest first, and a batch that failed is tried again (after at most ``FINAL_RETRY_S``) once every
        other batch had its attempt."""
        with self._cond:
            self._final = True
            self._paused = False
            self._next_attempt = 0.0
            self._cond.notify_all()
            while self._inflight or not self.store.empty() or self._final_retry:
                now = self.clock()
                if now >= deadline:
                    return False
                if not self._inflight and self.store.empty() and self._next_attempt >= deadline:
                    return False  # only retries are left, and their time comes too late
                self._cond.wait(deadline - now)
            return True

    def quiesce(self, wait_s: float, settle_s: float = 1.0) -> None:
        """Before ``/event/next``: no new send starts; the one in flight gets ``wait_s`` to finish, then
        is abandoned (and resent later; its thread gets ``settle_s`` to hand it back). ``wait_s == 0`` lets
        it straddle a short freeze instead.
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
            self._cond.wait_for(lambda: not self._inflight, timeout=settle_s)

    # --- the sender
    # -------------------------------------------------------------------------------------------
    def _blocked_until(self, now: float) -> float:
        """When a send could start, at the earliest, given backoff and breaker (``now`` if it could now)."""
        return max(now, self._next_attempt, now + self.breaker.retry_in(now))

    def _final_wait(self, now: float) -> float:
        if self._paused:
            return INF  # quiesced: the final flush is over
        if not self.store.empty():
            return 0.0
        return max(0.0, self._next_attempt - now) if self._final_retry else INF

    def _wait_time(self, now: float) -> float:
        if self._final:
            return self._final_wait(now)
        if self.store.empty() or self.breaker.probing:
            return INF  # nothing to send, or a probe in flight whose result decides (and notifies)
        if self._probe_due and not self._paused:
            return 0.0
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
        """A sender thread: never dies while the pipeline is open (every exception is caught and counted),
        and never leaves a batch in flight once its attempt is over."""
        while True:
            try:
                if not self._step(forwarder):
                    return
            except Exception as exc:
                self._sender_error(exc)
                with self._cond:
                    self._cond.wait(0.05)  # a failure outside a send: do not spin on it

    def _take(self, now: float) -> Batch | None:
        """The next batch to send (under the lock), None when none may go now."""
        if self._final:
            batch = self.store.next_batch()
            if batch is None and self._final_retry and now >= self._next_attempt:
                batch = self._final_retry.popleft()
            return batch
        if not self.breaker.allow(now):
            return None
        self._probe_due = False
        batch = self.store.next_batch()
        if batch is None:
            self.breaker.cancel_probe()
        return batch

    def _step(self, forwarder: Forwarder) -> bool:
        """Wait for, send and settle one batch; False once the pipeline is closed."""
        with self._cond:
            while (wait := self._wait_time(self.clock())) > 0:
                if self._closed:
                    return False
                self._cond.wait(None if wait == INF else wait)
            batch = self._take(self.clock())
            if batch is None:
                self._cond.wait(0.01)
                return True
            self._inflight.append(batch)
        result = SendResult(None, error="not sent")
        try:
            result = forwarder.send(batch.signal, batch.payload())
        except Exception as exc:
            self._sender_error(exc)
            result = SendResult(None, error=type(exc).__name__)
        finally:
            with self._cond:
                try:
                    self._settle(batch, result)
                except Exception as exc:
                    self._sender_error(exc)
                    if not result.ok:
                        self.store.requeue(batch)
                finally:
                    self._inflight.remove(batch)
                    if not self._inflight:
                        self._aborting = False
                    self._cond.notify_all()
        return True

    def _sender_error(self, exc: BaseException) -> None:
        """Count an unexpected exception; log its kind once, with its type and place only (its text may
        hold a header value such as an API key)."""
        self.counters.add("sender_errors")
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        where = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}" if tb else "?"
        kind = f"{type(exc).__name__} at {where}"
        with self._cond:
            first = kind not in self._errors_logged and len(self._errors_logged) < MAX_LOGGED_KINDS
            if first:
                self._errors_logged.add(kind)
        if first:
            _log.error("sender error %s: caught, counted as sender_errors; the batch is kept", kind)

    def _settle(self, batch: Batch, result: SendResult) -> None:
        if self._inflight_spilled:
            return  # SHUTDOWN already reported and spooled it
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
            self.breaker.record_success()  # the backend answered: it is up
            self._refused(batch, result.status, result.error)
            return
        self._failures += 1
        self._last_failure = now
        self.counters.add("retried", items)
        retry_after = parse_retry_after(result.retry_after, time.time())
        delay = self.backoff.delay(self._failures, retry_after)
        self.breaker.record_failure(now)
        if self._final:
            # SHUTDOWN: every other batch gets its attempt first, then this one again soon. Held in memory up
            # to the buffer's bound (a dead backend must not pull the whole spool into memory), else at the
            # end of the spool.
            held = sum(b.size for b in self._final_retry)
            if held + batch.size <= self.store.memory.capacity:
                self._final_retry.append(batch)
            else:
                self.store.spill(batch)
            self._next_attempt = now + min(delay, FINAL_RETRY_S)
            return
        self.store.requeue(batch)
        self._next_attempt = now + delay

    def _refused(self, batch: Batch, status: int, reason: str | None) -> None:
        """The backend refused ``batch`` itself: split it so only the refused part is lost, or drop it."""
        parts = split_batch(batch, status) if status in SPLIT_STATUSES else None
        if parts is not None:
            self.counters.add("split")
            if status == 413:
                self.store.shrink_batches(batch.size)
            self.store.push_front(parts)
            return
        loss = "dropped_too_large" if status == 413 else "dropped_refused"
        self.counters.lose(loss, batch.items)
        kind = f"{status} {reason}"
        if kind in self._errors_logged or len(self._errors_logged) >= MAX_LOGGED_KINDS:
            return  # logged once per status and reason; the counter keeps the count
        self._errors_logged.add(kind)
        _log.warning(
            "backend refused a %s request with HTTP %s (%s): %d items dropped (%s; logged once per reason)",
            batch.signal,
            status,
            reason or "no reason given",
            batch.items,
            loss,
        )


def split_batch(batch: Batch, status: int) -> list[Batch] | None:
    """``batch`` in two parts (in order), None when it cannot be split further. Several chunks are split
    between chunks. One chunk that is exactly one request is the smallest unit for a 400 (the sender's
    request is what was refused); for a 413, and for a spooled entry holding several requests, its
    protobuf is cut at resource, scope or item boundaries (``otlp.wire.split``)."""
    chunks = batch.chunks
    if len(chunks) > 1:
        half = len(chunks) // 2
        return [
            Batch(batch.signal, chunks[:half], split=True),
            Batch(batch.signal, chunks[half:], split=True),
        ]
    if not chunks or (chunks[0].whole and status != 413):
        return None
    chunk = chunks[0]
    pieces = wire.split(batch.signal, chunk.data, max(1, len(chunk.data) // 2))
    if len(pieces) < 2:
        return None
    total = sum(len(p) for p in pieces)
    prefix = [0]
    for piece in pieces:
        prefix.append(prefix[-1] + len(piece))
    cut = min(range(1, len(pieces)), key=lambda i: abs(2 * prefix[i] - total))  # nearest to half the bytes
    # The parts' items are the chunk's counted items shared out, never recounted from the content: the
    # content may hold the extension's own metrics (``Chunk.internal``), which were never received. Where
    # in the data they sit is not known; the first part takes them first. The parts always sum exactly.
    first, second = b"".join(pieces[:cut]), b"".join(pieces[cut:])
    in_first = wire.count_items(batch.signal, first)
    internal_1 = min(chunk.internal, in_first)
    items_1 = min(chunk.items, in_first - internal_1)
    items_2 = chunk.items - items_1
    return [
        Batch(
            batch.signal, [Chunk(batch.signal, first, items_1, chunk.created, False, internal_1)], split=True
        ),
        Batch(
            batch.signal,
            [Chunk(batch.signal, second, items_2, chunk.created, False, chunk.internal - internal_1)],
            split=True,
        ),
    ]
