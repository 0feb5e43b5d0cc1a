"""What an invocation returns to its caller, and the captured log lines.

Two instants matter (contract section 2, Invoke): the caller gets the response as soon as the runtime posts
it (:class:`InvokeResponse`, ``latency_ms``); the invocation goes on until every INVOKE subscriber is back
in /next, and that whole span is billed (:class:`InvokeResult`, ``duration_ms``/``billed_duration_ms``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InvokeResponse:
    """What the caller receives, at the moment the runtime posted it (or the sandbox failed or timed out).

    ``latency_ms`` runs from the moment the sandbox took the request (a cold start's init included) to the
    moment the response was ready; the caller's own round trip adds only the transport.
    """

    status: str
    body: bytes
    error_type: str | None
    request_id: str
    latency_ms: float
    content_type: str = "application/json"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass(frozen=True)
class InvokeResult:
    """The outcome of one ``Sandbox.invoke``, known once the whole invocation (post-runtime phase included)
    has ended.

    ``status`` is what the caller got: ``success`` | ``error`` (the function or its init failed) | ``timeout``
    | ``failure`` (the sandbox failed: runtime crash, out of memory, init error). ``report_status`` and
    ``report_error_type`` are what the platform reported (``platform.report``, the REPORT line): they differ
    when something went wrong after the response, e.g. an extension that crashed (``failure``,
    ``Extension.Crash``) or ran past the timeout (``timeout``). Durations are in ms: ``latency_ms`` is the
    caller's wait (see :class:`InvokeResponse`), ``duration_ms`` the billed span (``billed_duration_ms``
    rounded up), ``post_runtime_ms`` the extensions' time after the runtime's next /next (part of
    ``duration_ms``). ``log_tail`` holds the last 4 KB of the invocation's log (START to REPORT), what
    ``LogType=Tail`` returns.
    """

    status: str
    body: bytes
    error_type: str | None
    request_id: str
    duration_ms: float
    billed_duration_ms: int
    post_runtime_ms: float
    init_duration_ms: float | None
    max_memory_used_mb: int
    content_type: str = "application/json"
    latency_ms: float = 0.0
    report_status: str = "success"
    report_error_type: str | None = None
    log_tail: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return self.status == "success"


class PendingInvoke:
    """An invocation whose response is known (``response``) and whose post-runtime phase may still run.

    ``result()`` waits for the end of the invocation. ``add_done_callback`` runs a callable once it ended
    (at once when it already has).
    """

    def __init__(self, response: InvokeResponse) -> None:
        self.response = response
        self._done = threading.Event()
        self._result: InvokeResult | None = None
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> InvokeResult:
        """The invocation's result; raises TimeoutError when it has not ended within ``timeout`` s."""
        if not self._done.wait(timeout):
            raise TimeoutError("the invocation has not ended yet")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def add_done_callback(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(fn)
                return
        fn()

    def _finish(self, result: InvokeResult | None, error: BaseException | None = None) -> None:
        with self._lock:
            self._result, self._error = result, error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn()


@dataclass(frozen=True)
class LogLine:
    """One line a sandbox process wrote: ``source`` is ``function``/``extension`` (``platform`` for the
    START/END/REPORT lines passed to ``on_log`` callbacks)."""

    source: str
    name: str
    request_id: str | None
    text: str
