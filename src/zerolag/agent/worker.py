"""The agent's worker thread: it sends the jobs of asynchronous exporters off the handler's path and
watches invocation deadlines when SIGALRM is not available.

Started on first use with ``_thread`` (not ``threading``, which costs ~2 ms to import); fed through a C
``SimpleQueue``, whose ``put`` is safe inside a signal handler. Pending hand-overs are bounded.
"""

from __future__ import annotations

import _thread
import time
from _queue import Empty, SimpleQueue

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from zerolag.agent.export import Exporter, Job

MAX_PENDING = 64


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
