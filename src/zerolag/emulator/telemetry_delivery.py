"""Delivery of one subscription's batches over HTTP: a thread around ``BatchBuffer`` and ``Backoff``.

The thread POSTs a JSON array of events to the subscriber's listener on loopback. A failed POST (connection
error or non-2xx) is retried with backoff; a batch whose retries run out is dropped and counted. Nothing is
sent while paused (the sandbox is frozen, so the listener cannot answer).
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable

from zerolag.emulator.telemetry_batch import Backoff, BatchBuffer, Entry
from zerolag.emulator.telemetry_subscription import Subscription
from zerolag.lambda_wire import TelemetryEvent

Post = Callable[[Subscription, bytes], bool]
DroppedFactory = Callable[[int, int], "TelemetryEvent | None"]

POST_TIMEOUT_S = 10.0
PAUSE_GRACE_S = 1.0


def encode_batch(events: list[TelemetryEvent]) -> bytes:
    """The POST body: a JSON array of ``{"time","type","record"}``."""
    return json.dumps(events, separators=(",", ":")).encode()


def http_post(sub: Subscription, body: bytes) -> bool:
    """POST one batch to the subscriber; True on a 2xx reply."""
    conn = http.client.HTTPConnection(sub.host, sub.port, timeout=POST_TIMEOUT_S)
    try:
        conn.request("POST", sub.path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        return 200 <= resp.status < 300
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


class Deliverer:
    """Buffers one subscription's events and delivers them from its own daemon thread."""

    def __init__(
        self,
        sub: Subscription,
        *,
        on_dropped: DroppedFactory,
        post: Post = http_post,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.sub = sub
        self.buffer = BatchBuffer(max_items=sub.max_items, max_bytes=sub.max_bytes, timeout_ms=sub.timeout_ms)
        self.delivered_batches = 0
        self._on_dropped = on_dropped
        self._post = post
        self._clock = clock
        self._rng = rng or random.random
        self._backoff = backoff or Backoff()
        self._cond = threading.Condition()
        self._batch: list[Entry] = []
        self._failures = 0
        self._retry_at = 0.0
        self._in_flight = False
        self._paused = False
        self._added = 0  # events ever buffered
        self._taken = 0  # events ever taken out of the buffer into a batch
        self._force_until = 0  # a flush forces batches out until this many events were taken
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"telemetry-{sub.api}", daemon=True)
        self._thread.start()

    def offer(self, event: TelemetryEvent, size: int) -> None:
        """Buffer one event (dropped and counted when the buffer is full)."""
        with self._cond:
            if self.buffer.add(event, size, self._clock()):
                self._added += 1
            self._cond.notify_all()

    def pause(self) -> None:
        """Stop delivering; wait briefly for a POST already on the wire."""
        with self._cond:
            self._paused = True
            self._cond.wait_for(lambda: not self._in_flight, PAUSE_GRACE_S)

    def resume(self) -> None:
        """Deliver again: whatever is due goes out now."""
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def flush(self, deadline: float) -> bool:
        """Deliver what is buffered now, ignoring timeoutMs, until delivered or ``deadline`` (clock time).

        Only the events buffered when the flush starts are forced out, in batches of the subscription's
        maxItems/maxBytes; events that arrive meanwhile follow the subscription's buffering as always (an
        extension that logs what it receives would otherwise get one POST per event).
        """
        with self._cond:
            target = self._added
            self._force_until = max(self._force_until, target)
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._taken >= target and not self._batch and not self._in_flight,
                max(0.0, deadline - self._clock()),
            )

    def close(self, timeout: float = 1.0) -> None:
        """Stop the thread; what is still buffered is not delivered."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                batch = self._next_batch()
                if batch is None:
                    return
                self._in_flight = True
            ok = self._post(self.sub, encode_batch(batch))
            with self._cond:
                self._in_flight = False
                self._settle(ok)
                self._cond.notify_all()

    def _next_batch(self) -> list[TelemetryEvent] | None:
        """Wait (holding the condition) until a batch may go out; None when closed."""
        while not self._closed:
            wait = self._wait_time()
            if wait is None:
                if not self._batch:
                    self._batch = self._take_with_drop_report()
                return [e.event for e in self._batch]
            self._cond.wait(wait if wait > 0 else None)
        return None

    def _wait_time(self) -> float | None:
        """None when a batch can be sent now; otherwise how long to wait (0 = until notified)."""
        if self._paused:
            return 0
        now = self._clock()
        if self._batch:
            return None if now >= self._retry_at else self._retry_at - now
        if self.buffer.ready(now, force=self._taken < self._force_until) or self._has_drop_report():
            return None
        due = self.buffer.due_at()
        return 0 if due is None else max(due - now, 0.001)

    def _has_drop_report(self) -> bool:
        return self.buffer.dropped_records > 0 and "platform" in self.sub.types

    def _take_with_drop_report(self) -> list[Entry]:
        batch = self.buffer.take()
        self._taken += len(batch)
        records, size = self.buffer.take_dropped()
        if records and "platform" in self.sub.types:
            event = self._on_dropped(records, size)
            if event is not None:
                batch.append(Entry(event, 0, self._clock()))
        return batch

    def _settle(self, ok: bool) -> None:
        if ok:
            self._batch = []
            self._failures = 0
            self.delivered_batches += 1
            return
        self._failures += 1
        delay = self._backoff.delay(self._failures, self._rng)
        if delay is None:
            lost = [e for e in self._batch if e.size > 0]  # a lost drop report is not itself reported
            self.buffer.record_dropped(len(lost), sum(e.size for e in lost))
            self._batch = []
            self._failures = 0
        else:
            self._retry_at = self._clock() + delay
