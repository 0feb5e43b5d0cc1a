"""Exporters: where an invocation's telemetry goes, and the worker thread keeping it off the handler's path.

- ``extension``: OTLP protobuf POSTs to the extension on loopback, made by the worker thread; the last one of
  an invocation carries ``X-Zerolag-Final: true``.
- ``otlp``: OTLP protobuf POSTs to ``ZEROLAG_OTLP_ENDPOINT``, synchronously at the end of each invocation.
- ``stdout``: one compact JSON line per invocation.

A job is ``(request_id, spans, logs)``; metrics are taken from the aggregator when the job is encoded.
Failures are counted, never raised; a circuit breaker skips a dead endpoint for a growing pause.
"""

from __future__ import annotations

import _thread
import time
from _queue import Empty, SimpleQueue

from zerolag.agent import metrics, spans
from zerolag.agent.redact import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from zerolag.agent.transport import DirectClient, LoopbackClient

    Job = tuple[str, list[spans.Span], list[tuple[Any, ...]]]

SCOPE_NAME = "zerolag.agent"
MAX_PENDING = 64


class Breaker:
    """Closed until a failure; then open for ``pause`` seconds, doubling up to ``max_pause``."""

    __slots__ = ("failures", "max_pause", "open_until", "pause")

    def __init__(self, pause: float = 1.0, max_pause: float = 30.0) -> None:
        self.pause, self.max_pause = pause, max_pause
        self.open_until = 0.0
        self.failures = 0

    def allow(self, now: float) -> bool:
        return now >= self.open_until

    def failed(self, now: float) -> None:
        self.failures += 1
        self.open_until = now + min(self.max_pause, self.pause * 2 ** min(self.failures - 1, 10))

    def succeeded(self) -> None:
        self.failures = 0
        self.open_until = 0.0


class Stats:
    __slots__ = ("dropped", "exported", "failed", "skipped")

    def __init__(self) -> None:
        self.exported = self.failed = self.dropped = self.skipped = 0


class Exporter:
    """Base: ``export(job)`` does everything and never raises."""

    asynchronous = False

    def __init__(self, resource: dict[str, Any], redactor: Redactor, version: str) -> None:
        self.resource = resource
        self.redactor = redactor
        self.version = version
        self.stats = Stats()
        self.breaker = Breaker()
        self._lock = _thread.allocate_lock()
        self._metrics_start = time.time_ns()
        self._fields: tuple[bytes, bytes] | None = None

    def take_metrics(self) -> tuple[list[Any], int, int]:
        start, now = self._metrics_start, time.time_ns()
        self._metrics_start = now
        return metrics.aggregator.take(), start, now

    def export(self, job: Job) -> None:
        with self._lock:
            now = time.monotonic()
            if not self.breaker.allow(now):
                self.stats.skipped += 1
                self.take_metrics()
                return
            token = spans.suppressed.set(True)
            try:
                self.send(job)
                self.stats.exported += 1
                self.breaker.succeeded()
            except Exception:
                self.stats.failed += 1
                self.breaker.failed(time.monotonic())
                self.close()
            finally:
                spans.suppressed.reset(token)

    def protobuf(self, job: Job) -> list[tuple[str, bytes]]:
        """The (path, body) POSTs of a job: traces, metrics and logs, the empty ones left out."""
        from zerolag.agent import encode

        if self._fields is None:
            self._fields = (encode.resource(self.resource), encode.scope(SCOPE_NAME, self.version))
        res, scope = self._fields
        _, job_spans, job_logs = job
        out = []
        if job_spans:
            out.append(("/v1/traces", encode.traces(res, scope, job_spans, self.redactor)))
        items, start, now = self.take_metrics()
        if items:
            out.append(("/v1/metrics", encode.metrics(res, scope, items, start, now, self.redactor)))
        if job_logs:
            out.append(("/v1/logs", encode.logs(res, scope, job_logs, self.redactor)))
        if not out:  # still tell the extension that this invocation is complete
            out.append(("/v1/traces", b""))
        return out

    def send(self, job: Job) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Drop any connection (after a failure)."""


class NullExporter(Exporter):
    def send(self, job: Job) -> None:
        self.take_metrics()


class ExtensionExporter(Exporter):
    asynchronous = True

    def __init__(self, resource: dict[str, Any], redactor: Redactor, version: str, port: int, timeout: float):
        super().__init__(resource, redactor, version)
        self.port, self.timeout = port, timeout
        self.client: LoopbackClient | None = None

    def send(self, job: Job) -> None:
        if self.client is None:  # socket is imported here, on the worker thread, not during the cold start
            from zerolag.agent.transport import LoopbackClient

            self.client = LoopbackClient("127.0.0.1", self.port, self.timeout)
        posts = self.protobuf(job)
        rid = job[0]
        last = len(posts) - 1
        for i, (path, body) in enumerate(posts):
            headers = [("X-Zerolag-Request-Id", rid)]
            if i == last:
                headers.append(("X-Zerolag-Final", "true"))
            status = self.client.post(path, body, headers)
            if status >= 500:
                raise OSError(f"extension answered {status}")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class OtlpExporter(Exporter):
    def __init__(  # noqa: PLR0917
        self,
        resource: dict[str, Any],
        redactor: Redactor,
        version: str,
        endpoint: str,
        headers: tuple[tuple[str, str], ...],
        timeout: float,
    ) -> None:
        super().__init__(resource, redactor, version)
        self.endpoint, self.headers, self.timeout = endpoint, headers, timeout
        self.client: DirectClient | None = None

    def send(self, job: Job) -> None:
        if self.client is None:
            from zerolag.agent.transport import DirectClient

            self.client = DirectClient(self.endpoint, self.headers, self.timeout)
        for path, body in self.protobuf(job):
            if body:
                status = self.client.post(path, body, ())
                if status >= 500 or status == 429:
                    raise OSError(f"backend answered {status}")

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class StdoutExporter(Exporter):
    def send(self, job: Job) -> None:
        from zerolag.agent.jsonline import invocation_line
        from zerolag.agent.logs import raw_stdout

        items, _, _ = self.take_metrics()
        line = invocation_line(job, items, self.resource, self.redactor)
        out = raw_stdout()
        out.write(line + "\n")
        out.flush()


class Worker:
    """A daemon thread: sends jobs for asynchronous exporters and watches the deadline of each invocation."""

    def __init__(self, exporter: Exporter, on_deadline: Callable[[str], Job | None]) -> None:
        self.exporter = exporter
        self.on_deadline = on_deadline
        self.queue: SimpleQueue[tuple[Any, ...]] = SimpleQueue()
        self.submitted = 0  # written by the handler's thread only
        self.done = 0  # written by the worker only: pending = submitted - done, without a lock
        self.started = False

    def _start(self) -> None:
        if not self.started:
            self.started = True
            _thread.start_new_thread(self._run, ())

    def submit(self, job: Job, watched: bool = False) -> None:
        """Hand a finished invocation over (asynchronous exporters) or export it now (synchronous ones).
        ``watched``: the worker watches this invocation's deadline (no SIGALRM) and must be told it ended."""
        if not self.exporter.asynchronous:
            if watched:
                self.queue.put(("done", job[0]))
            self.exporter.export(job)
            return
        if self.submitted - self.done >= MAX_PENDING:
            self.exporter.stats.dropped += 1
            return
        self.submitted += 1
        self._start()
        self.queue.put(("job", job))

    def watch(self, request_id: str, deadline: float) -> None:
        """Call ``on_deadline(request_id)`` at monotonic time ``deadline`` unless the job arrives first."""
        self._start()
        self.queue.put(("watch", request_id, deadline))

    def deadline_reached(self, request_id: str) -> None:
        """From the SIGALRM handler: SimpleQueue.put is safe there (reentrant); the worker does the rest."""
        self.queue.put(("deadline", request_id))

    def flush(self, timeout: float) -> bool:
        """Wait until every job handed over so far is exported; False on timeout."""
        if not self.started:
            return True
        lock = _thread.allocate_lock()
        lock.acquire()
        self.queue.put(("flush", lock))
        return lock.acquire(timeout=timeout)

    def _run(self) -> None:
        spans.suppressed.set(True)
        watching: tuple[str, float] | None = None
        while True:
            try:
                if watching is None:
                    item = self.queue.get()
                else:
                    item = self.queue.get(timeout=max(0.0, watching[1] - time.monotonic()))
            except Empty:
                assert watching is not None
                rid, watching = watching[0], None
                self._deadline(rid)
                continue
            try:
                watching = self._handle(item, watching)
            except Exception:  # noqa: S112 - the worker must survive anything
                continue

    def _handle(self, item: tuple[Any, ...], watching: tuple[str, float] | None) -> tuple[str, float] | None:
        kind = item[0]
        if kind == "watch":
            return (item[1], item[2])
        if kind == "job":
            job = item[1]
            try:
                self.exporter.export(job)
            finally:
                self.done += 1
            return None if watching is not None and watching[0] == job[0] else watching
        if kind == "deadline":
            self._deadline(item[1])
            return watching
        if kind == "done":
            return None if watching is not None and watching[0] == item[1] else watching
        if kind == "flush":
            item[1].release()
        return watching

    def _deadline(self, request_id: str) -> None:
        try:
            job = self.on_deadline(request_id)
            if job is not None:
                self.exporter.export(job)
        except Exception:  # reported as a failed export at most
            self.exporter.stats.failed += 1
