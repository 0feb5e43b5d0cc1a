"""Spans and the tracing API: a context manager, a decorator, contextvars, sync and async.

A span costs one small ``__slots__`` object, one id, two clock reads and one list append. Every started,
sampled span goes to the recorder's list; the exporter takes the list at the end of each invocation (or the
watchdog takes it just before the deadline, marking what is still open).
"""

from __future__ import annotations

import contextvars
import time
from itertools import count

from zerolag.agent.propagation import format_traceparent, new_span_id, new_trace_id, sample

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
UNSET, OK, ERROR = 0, 1, 2
_time_ns = time.time_ns
_CO_COROUTINE = 0x80


class Recorder:
    """Where finished telemetry waits for the exporter; bounded, counting what it drops."""

    __slots__ = ("dropped_logs", "dropped_spans", "logs", "max_logs", "max_spans", "sample_ratio", "spans")

    def __init__(self, max_spans: int = 1000, max_logs: int = 1000, sample_ratio: float = 1.0) -> None:
        self.spans: list[Span] = []
        self.logs: list[tuple[Any, ...]] = []
        self.max_spans = max_spans
        self.max_logs = max_logs
        self.dropped_spans = 0
        self.dropped_logs = 0
        self.sample_ratio = sample_ratio

    def take_spans(self) -> list[Span]:
        """Everything recorded so far (appends racing with this stay for the next take)."""
        batch = self.spans.copy()
        del self.spans[: len(batch)]
        return batch

    def take_logs(self) -> list[tuple[Any, ...]]:
        batch = self.logs.copy()
        del self.logs[: len(batch)]
        return batch


recorder = Recorder()
_current: contextvars.ContextVar[Span | None] = contextvars.ContextVar("zerolag_span", default=None)
# True while the agent itself (or an instrumented outer call) does I/O: instrumentation creates no spans.
suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar("zerolag_suppressed", default=False)
_next_seq = count(1).__next__
# The invocation span while an invocation runs (set by the runtime): the parent of a span started where the
# context carries none, e.g. in a thread of a pool created during Init (inst_threads carries the rest).
invocation_span: Span | None = None


class Span:
    """One operation. Use it as a context manager (it becomes the current span) or call ``end()``."""

    __slots__ = (
        "_token",
        "attributes",
        "end_time",
        "events",
        "kind",
        "name",
        "parent_id",
        "sampled",
        "seq",
        "span_id",
        "start_time",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(  # noqa: PLR0917 - positional on the hot path
        self,
        name: str,
        trace_id: int,
        parent_id: int,
        sampled: bool,
        kind: int = INTERNAL,
        attributes: dict[str, Any] | None = None,
        start_time: int | None = None,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = new_span_id()
        self.parent_id = parent_id
        self.sampled = sampled
        self.kind = kind
        self.attributes: dict[str, Any] = {} if attributes is None else attributes
        self.events: list[tuple[str, int, dict[str, Any]]] | None = None
        self.status = UNSET
        self.status_message = ""
        self.start_time = _time_ns() if start_time is None else start_time
        self.end_time = 0
        self._token: contextvars.Token[Span | None] | None = None
        self.seq = _next_seq()
        if sampled:
            spans = recorder.spans
            if len(spans) < recorder.max_spans:
                spans.append(self)
            else:
                recorder.dropped_spans += 1

    # -- mutation --------------------------------------------------------------------------------------------
    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        self.attributes.update(attributes)

    def add_event(
        self, name: str, attributes: dict[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        if self.events is None:
            self.events = []
        if len(self.events) < 128:
            self.events.append((name, _time_ns() if timestamp is None else timestamp, attributes or {}))

    def set_status(self, code: int, message: str = "") -> None:
        """OK is final; ERROR replaces UNSET; the message is kept for ERROR only (as in OpenTelemetry)."""
        if self.status == OK:
            return
        self.status = code
        self.status_message = message if code == ERROR else ""

    def record_exception(self, exc: BaseException, escaped: bool = False) -> None:
        """An ``exception`` event with type, message and stack trace, per the OTel conventions."""
        import traceback

        stack = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        attrs: dict[str, Any] = {
            "exception.type": type(exc).__qualname__,
            "exception.message": str(exc),
            "exception.stacktrace": stack[-8192:],
        }
        if escaped:
            attrs["exception.escaped"] = True
        self.add_event("exception", attrs)

    def end(self, end_time: int | None = None) -> None:
        if not self.end_time:
            self.end_time = _time_ns() if end_time is None else end_time

    @property
    def is_recording(self) -> bool:
        return self.sampled and not self.end_time

    def traceparent(self) -> str:
        return format_traceparent(self.trace_id, self.span_id, self.sampled)

    # -- context manager -------------------------------------------------------------------------------------
    def __enter__(self) -> Span:
        self._token = _current.set(self)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None:
            self.record_exception(exc, escaped=True)
            self.set_status(ERROR, f"{exc_type.__name__ if exc_type else 'Error'}: {exc}")
        if self._token is not None:
            try:
                _current.reset(self._token)
            except ValueError:  # exited in another context (e.g. a generator moved across tasks)
                _current.set(None)
            self._token = None
        if not self.end_time:  # end(), inlined: this is every span's exit
            self.end_time = _time_ns()

    def __repr__(self) -> str:
        return f"<Span {self.name!r} {self.trace_id:032x}/{self.span_id:016x} parent={self.parent_id:016x}>"


def current_span() -> Span | None:
    """The innermost open span of this context (thread or task), else the running invocation's, or None."""
    found = _bridge_current() if _bridge_current is not None else _current.get()
    return found if found is not None else invocation_span


# Set by the OpenTelemetry bridge when the user imports opentelemetry: picks the innermost of both contexts.
_bridge_current: Callable[[], Span | None] | None = None


def start_span(
    name: str,
    kind: int = INTERNAL,
    attributes: dict[str, Any] | None = None,
    parent: Span | None = None,
) -> Span:
    """A child of ``parent`` (default: the current span); a new trace when there is none."""
    if parent is None:
        parent = _bridge_current() if _bridge_current is not None else _current.get()
        if parent is None:
            parent = invocation_span
    if parent is None:
        trace_id = new_trace_id()
        return Span(name, trace_id, 0, sample(trace_id, recorder.sample_ratio), kind, attributes)
    return Span(name, parent.trace_id, parent.span_id, parent.sampled, kind, attributes)


def span(name: str, kind: int = INTERNAL, **attributes: Any) -> Span:
    """``with span("load", table="users") as s:`` starts a child of the current span and makes it current."""
    parent = _bridge_current() if _bridge_current is not None else _current.get()
    if parent is None:
        parent = invocation_span
        if parent is None:
            return start_span(name, kind, attributes)
    return Span(name, parent.trace_id, parent.span_id, parent.sampled, kind, attributes)


def wraps(original: Callable[..., Any], wrapper: Callable[..., Any]) -> Callable[..., Any]:
    """``functools.wraps`` without importing functools (and collections) during the cold start."""
    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attr, getattr(original, attr))
        except AttributeError:
            pass
    wrapper.__dict__.update(getattr(original, "__dict__", {}))
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


def traced(name: str | None = None, kind: int = INTERNAL) -> Callable[[F], F]:
    """Decorator: each call of the function (sync or ``async def``) runs in its own span."""

    def decorate(fn: F) -> F:
        span_name = name or fn.__qualname__
        if fn.__code__.co_flags & _CO_COROUTINE:

            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with start_span(span_name, kind):
                    return await fn(*args, **kwargs)

            return wraps(fn, run_async)  # type: ignore[return-value]

        def run(*args: Any, **kwargs: Any) -> Any:
            with start_span(span_name, kind):
                return fn(*args, **kwargs)

        return wraps(fn, run)  # type: ignore[return-value]

    return decorate
