"""Exporters: where an invocation's telemetry goes (``worker`` keeps the sending off the handler's path).

- ``extension``: OTLP protobuf POSTs to the extension on loopback, made by the worker thread and pipelined in
  one write; the last one of an invocation carries ``X-Zerolag-Final: true``.
- ``otlp``: OTLP protobuf POSTs to ``ZEROLAG_OTLP_ENDPOINT``, synchronously at the end of each invocation.
- ``stdout``: one compact JSON line per invocation.

A job is ``(request_id, spans, logs)``; metrics are taken from the aggregator when the job is encoded.
Failures are counted, never raised; a circuit breaker skips a dead endpoint for a growing pause.
"""

from __future__ import annotations

import _thread
import time

from zerolag.agent import metrics, spans
from zerolag.agent.redact import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from zerolag.agent.transport import DirectClient, LoopbackClient

    Job = tuple[str, list[spans.Span], list[tuple[Any, ...]]]

SCOPE_NAME = "zerolag.agent"


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
    __slots__ = ("dropped", "exported", "failed", "skipped", "unconfirmed")

    def __init__(self) -> None:
        self.exported = self.failed = self.dropped = self.skipped = 0
        self.unconfirmed = 0  # requests written without waiting whose answer never came (connection replaced)


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

    def export(self, job: Job, wait: bool = True) -> None:
        """Send ``job`` (``wait=False``: without waiting for the receiver's answer where the exporter can)."""
        with self._lock:
            self._export(job, wait)

    def try_export(self, job: Job, wait: bool = True) -> bool:
        """``export`` unless another thread is exporting right now (False: nothing was done)."""
        if not self._lock.acquire(False):
            return False
        try:
            self._export(job, wait)
        finally:
            self._lock.release()
        return True

    def _export(self, job: Job, wait: bool) -> None:
        now = time.monotonic()
        if not self.breaker.allow(now):
            self.stats.skipped += 1
            self.take_metrics()
            return
        token = spans.suppressed.set(True)
        try:
            self.send(job, wait)
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

    def send(self, job: Job, wait: bool = True) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Drop any connection (after a failure)."""


class NullExporter(Exporter):
    def send(self, job: Job, wait: bool = True) -> None:
        self.take_metrics()


class ExtensionExporter(Exporter):
    asynchronous = True

    def __init__(self, resource: dict[str, Any], redactor: Redactor, version: str, port: int, timeout: float):
        super().__init__(resource, redactor, version)
        self.port, self.timeout = port, timeout
        self.client: LoopbackClient | None = None

    def send(self, job: Job, wait: bool = True) -> None:
        if self.client is None:  # socket is imported here, on the worker thread, not during the cold start
            from zerolag.agent.transport import LoopbackClient

            self.client = LoopbackClient("127.0.0.1", self.port, self.timeout)
        posts = self.protobuf(job)
        rid = (("X-Zerolag-Request-Id", job[0]),)
        final = (*rid, ("X-Zerolag-Final", "true"))
        last = len(posts) - 1
        requests = [(path, body, final if i == last else rid) for i, (path, body) in enumerate(posts)]
        statuses = self.client.post_many(requests, wait)
        self.stats.unconfirmed = self.client.lost_answers
        for status in statuses:
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

    def send(self, job: Job, wait: bool = True) -> None:
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
    def send(self, job: Job, wait: bool = True) -> None:
        from zerolag.agent.jsonline import invocation_line
        from zerolag.agent.logs import raw_stdout

        items, _, _ = self.take_metrics()
        line = invocation_line(job, items, self.resource, self.redactor)
        out = raw_stdout()
        out.write(line + "\n")
        out.flush()
