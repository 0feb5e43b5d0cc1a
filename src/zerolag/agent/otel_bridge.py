"""The OpenTelemetry API bridge: when the user's code imports ``opentelemetry.trace``, zerolag becomes the
global tracer provider, so spans made with the OTel API are zerolag spans in the same trace.

Parentage works both ways: an OTel span made current with ``use_span``/``start_as_current_span`` parents
zerolag's spans (botocore, HTTP, ``span()``), and a zerolag span parents OTel spans; the innermost open one
wins. This module is imported only by the import hook, right after ``opentelemetry.trace`` has loaded, so it
costs nothing when the OTel API is not used.
"""

from __future__ import annotations

from opentelemetry import trace as ot
from opentelemetry.util._decorator import _agnosticcontextmanager

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from types import ModuleType
    from typing import Any


class BridgeSpan(ot.Span):
    """An OTel API span backed by a zerolag span."""

    def __init__(self, inner: spans.Span) -> None:
        self._z = inner

    def end(self, end_time: int | None = None) -> None:
        self._z.end(end_time)

    def get_span_context(self) -> ot.SpanContext:
        z = self._z
        flags = ot.TraceFlags(1 if z.sampled else 0)
        return ot.SpanContext(z.trace_id, z.span_id, is_remote=False, trace_flags=flags)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._z.set_attributes(dict(attributes))

    def set_attribute(self, key: str, value: Any) -> None:
        self._z.set_attribute(key, value)

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        self._z.add_event(name, dict(attributes or {}), timestamp)

    def update_name(self, name: str) -> None:
        self._z.name = name

    def is_recording(self) -> bool:
        return self._z.is_recording

    def set_status(self, status: Any, description: str | None = None) -> None:
        code = getattr(status, "status_code", status)
        desc = getattr(status, "description", None) or description or ""
        self._z.set_status(int(code.value), desc)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Any = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        self._z.record_exception(exception, escaped)


def current() -> spans.Span | None:
    """The innermost open span of both contexts (zerolag's and OpenTelemetry's)."""
    z = spans._current.get()
    o = ot.get_current_span()
    if isinstance(o, BridgeSpan) and not o._z.end_time and (z is None or o._z.seq > z.seq):
        return o._z
    return z


def _parent_of(context: Any) -> tuple[int, int, bool] | spans.Span | None:
    if context is None:
        return current()
    o = ot.get_current_span(context)
    if isinstance(o, BridgeSpan):
        return o._z
    sc = o.get_span_context()
    if sc.is_valid:
        return (sc.trace_id, sc.span_id, bool(sc.trace_flags & 1))
    return None


class BridgeTracer(ot.Tracer):
    def start_span(  # type: ignore[override] # noqa: PLR0917 - the OTel API's signature
        self,
        name: str,
        context: Any = None,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> BridgeSpan:
        otlp_kind = int(kind.value) + 1 if kind is not None else spans.INTERNAL
        attrs = dict(attributes or {})
        parent = _parent_of(context)
        if isinstance(parent, tuple):
            trace_id, parent_id, sampled = parent
            return BridgeSpan(spans.Span(name, trace_id, parent_id, sampled, otlp_kind, attrs, start_time))
        z = spans.start_span(name, otlp_kind, attrs, parent)
        if start_time is not None:
            z.start_time = start_time
        return BridgeSpan(z)

    @_agnosticcontextmanager  # type: ignore[misc]
    def start_as_current_span(  # type: ignore[override] # noqa: PLR0917 - the OTel API's signature
        self,
        name: str,
        context: Any = None,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[BridgeSpan]:
        span = self.start_span(name, context, kind, attributes, links, start_time)
        with ot.use_span(span, end_on_exit, record_exception, set_status_on_exception) as s:
            yield s  # type: ignore[misc]


class BridgeProvider(ot.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> BridgeTracer:  # type: ignore[override]
        return BridgeTracer()


def install(trace_mod: ModuleType) -> None:
    """Register zerolag as the tracer provider of the OpenTelemetry API."""
    trace_mod.set_tracer_provider(BridgeProvider())
    spans._bridge_current = current
