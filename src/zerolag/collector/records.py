"""Decoded OTLP export requests (the dict form of ``zerolag.otlp``) as rows for the store. Pure: no I/O.

Besides the rows of each signal, every request yields *invocation facts*: partial descriptions of a Lambda
invocation keyed by its request id. A server span with ``faas.*`` attributes gives the function, trace, start,
duration, trigger, cold start and status; platform metrics carrying the request id give billed duration,
memory and init duration. The store merges the facts of one request id into one invocations row.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from zerolag.collector import attributes as A
from zerolag.otlp import model

SPAN_KIND_SERVER = 2
STATUS_CODE_ERROR = 2


@dataclass
class Invocation:
    """What one piece of telemetry says about an invocation; ``None`` means "says nothing"."""

    request_id: str
    function: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    start_ns: int | None = None
    duration_ms: float | None = None
    billed_ms: float | None = None
    init_ms: float | None = None
    cold_start: bool | None = None
    memory_used_mb: float | None = None
    memory_size_mb: float | None = None
    status: str | None = None
    error_type: str | None = None
    trigger: str | None = None
    authoritative: bool = False  # platform numbers overwrite; span-derived numbers only fill gaps


@dataclass
class Rows:
    """Everything one export request adds to the store."""

    spans: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[list[tuple[Any, ...]]] = field(default_factory=list)  # per span, same order as spans
    links: list[list[tuple[Any, ...]]] = field(default_factory=list)  # per span, same order as spans
    logs: list[tuple[Any, ...]] = field(default_factory=list)
    points: list[tuple[Any, ...]] = field(default_factory=list)
    invocations: list[Invocation] = field(default_factory=list)

    def count(self) -> int:
        return len(self.spans) + len(self.logs) + len(self.points)


_INT64 = (-(2**63), 2**63 - 1)
_INT64_MIN, _INT64_MAX = _INT64


def _int(value: Any) -> int:
    """An OTLP integer as SQLite can hold it: uint64 timestamps past 2262 are clamped to int64."""
    if type(value) is int and _INT64_MIN <= value <= _INT64_MAX:  # the common case, first
        return value
    number = int(value) if value not in (None, "") else 0
    return min(max(number, _INT64_MIN), _INT64_MAX)


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=str)  # one encoder: json.dumps builds one per call


def _dumps(value: Mapping[str, Any]) -> str:
    """Attributes as compact JSON text. orjson (C) takes about a tenth of the json module's time, and this is
    a quarter of ingest's CPU; what it refuses (integers past 64 bits, lone surrogates) goes to json."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return _ENCODER.encode(value)


@dataclass(frozen=True)
class _Resource:
    """What every item of one resource shares, computed once per resource block."""

    function: str | None
    request_id: Any
    json: str


def _resource_info(resource: A.Attributes, cache: dict[int, tuple[A.Attributes, _Resource]]) -> _Resource:
    """The shared facts of ``resource``; the cache holds the dict itself so its id cannot be reused."""
    hit = cache.get(id(resource))
    if hit is None:
        info = _Resource(A.function_name(resource), A.first(resource, A.REQUEST_ID_KEYS), _dumps(resource))
        cache[id(resource)] = (resource, info)
        return info
    return hit[1]


# --- traces ------------------------------------------------------------------------------------------------
def trace_rows(request: Mapping[str, Any], now_ns: int) -> Rows:
    """Rows for a ``{"resourceSpans": [...]}`` request."""
    rows = Rows()
    resources: dict[int, tuple[A.Attributes, _Resource]] = {}
    for resource, _, span in model.iter_spans(request):
        add_span(rows, _resource_info(resource, resources), span, A.to_dict(span.get("attributes")), now_ns)
    return rows


def resource_facts(resource: A.Attributes) -> _Resource:
    """What every span of one resource shares (for decoders that walk resources themselves)."""
    return _Resource(A.function_name(resource), A.first(resource, A.REQUEST_ID_KEYS), _dumps(resource))


def add_span(
    rows: Rows, shared: _Resource, span: Mapping[str, Any], attrs: A.Attributes, now_ns: int
) -> None:
    """The rows of one span (dict form, its attributes already a plain dict) and its invocation facts."""
    status = span.get("status") or {}
    start = _int(span.get("startTimeUnixNano")) or now_ns
    end = max(_int(span.get("endTimeUnixNano")), start)
    request_id = A.first(attrs, A.REQUEST_ID_KEYS) or shared.request_id
    function = shared.function
    rows.spans.append(
        (
            span.get("traceId", ""),
            span.get("spanId", ""),
            span.get("parentSpanId") or None,
            span.get("name", ""),
            _int(span.get("kind")),
            start,
            end,
            _int(status.get("code")),
            status.get("message") or None,
            function,
            None if request_id is None else str(request_id),
            _dumps(attrs),
            shared.json,
        )
    )
    events = [
        (_int(e.get("timeUnixNano")) or start, e.get("name", ""), _dumps(A.to_dict(e.get("attributes"))))
        for e in span.get("events") or ()
    ]
    rows.events.append(events)
    rows.links.append(
        [
            (link.get("traceId", ""), link.get("spanId", ""), _dumps(A.to_dict(link.get("attributes"))))
            for link in span.get("links") or ()
        ]
    )
    if request_id is None:
        return
    if _is_invocation_span(span, attrs):
        rows.invocations.append(
            _invocation_from_span(str(request_id), function, span, attrs, start=start, end=end)
        )
    elif A.first(attrs, A.STATUS_KEYS) is not None:  # e.g. the extension's platform-outcome child span
        outcome, error_type = _span_outcome(span, attrs)
        rows.invocations.append(
            Invocation(
                str(request_id), function=function, start_ns=start, status=outcome, error_type=error_type
            )
        )


def _is_invocation_span(span: Mapping[str, Any], attrs: A.Attributes) -> bool:
    return (
        _int(span.get("kind")) == SPAN_KIND_SERVER
        or not span.get("parentSpanId")
        or A.first(attrs, A.TRIGGER_KEYS) is not None
    )


def _span_error_type(span: Mapping[str, Any], attrs: A.Attributes) -> str | None:
    error_type = A.first(attrs, A.ERROR_TYPE_KEYS)
    if error_type is None:
        for event in span.get("events") or ():
            if event.get("name") == "exception":
                error_type = A.to_dict(event.get("attributes")).get("exception.type")
                break
    return None if error_type is None else str(error_type)


def _span_outcome(span: Mapping[str, Any], attrs: A.Attributes) -> tuple[str, str | None]:
    """(status, error type) a span reports for its invocation: ``ok``, ``error``, ``timeout`` or ``oom``."""
    status = span.get("status") or {}
    word = A.first(attrs, A.STATUS_KEYS)
    oom = A.as_bool(A.first(attrs, A.OOM_KEYS)) is True
    timeout = A.as_bool(A.first(attrs, A.TIMEOUT_KEYS)) is True
    failed = (
        oom
        or timeout
        or _int(status.get("code")) == STATUS_CODE_ERROR
        or (word is not None and str(word).lower() not in ("success", "ok"))
    )
    if not failed:
        return "ok", None
    error_type = _span_error_type(span, attrs)
    if oom:
        return "oom", error_type
    if timeout:
        return "timeout", error_type
    return A.classify_error(
        error_type, None if word is None else str(word), status.get("message")
    ), error_type


def _invocation_from_span(
    request_id: str,
    function: str | None,
    span: Mapping[str, Any],
    attrs: A.Attributes,
    *,
    start: int,
    end: int,
) -> Invocation:
    status, error_type = _span_outcome(span, attrs)
    inv = Invocation(
        request_id=request_id,
        function=function,
        trace_id=span.get("traceId") or None,
        span_id=span.get("spanId") or None,
        start_ns=start,
        duration_ms=(end - start) / 1e6,
        cold_start=A.as_bool(A.first(attrs, A.COLD_START_KEYS)),
        status=status,
        error_type=error_type,
        trigger=None if (t := A.first(attrs, A.TRIGGER_KEYS)) is None else str(t),
    )
    for key, fact in A.SPAN_FACT_KEYS.items():
        value = attrs.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if fact == "memory_size_bytes":
                inv.memory_size_mb = value / 1048576
            else:
                setattr(inv, fact, float(value))
    return inv


# --- logs --------------------------------------------------------------------------------------------------
def log_rows(request: Mapping[str, Any], now_ns: int) -> Rows:
    """Rows for a ``{"resourceLogs": [...]}`` request."""
    rows = Rows()
    for resource, _, record in model.iter_log_records(request):
        attrs = A.to_dict(record.get("attributes"))
        body = A.any_value(record.get("body"))
        request_id = A.first(attrs, A.REQUEST_ID_KEYS) or A.first(resource, A.REQUEST_ID_KEYS)
        rows.logs.append(
            (
                _int(record.get("timeUnixNano")) or _int(record.get("observedTimeUnixNano")) or now_ns,
                A.function_name(resource),
                None if request_id is None else str(request_id),
                record.get("traceId") or None,
                record.get("spanId") or None,
                _int(record.get("severityNumber")),
                record.get("severityText") or None,
                body if isinstance(body, str) else json.dumps(body, default=str),
                _dumps(attrs),
            )
        )
    return rows


# --- metrics -----------------------------------------------------------------------------------------------
def _finite(value: Any) -> float:
    """A number SQLite can store (NaN, which it cannot, becomes 0)."""
    number = float(value or 0)
    return 0.0 if math.isnan(number) else number


def _value(kind: str, point: Mapping[str, Any]) -> tuple[float, int | None, float | None]:
    """(value, count, sum) of a data point: the number itself, or a histogram/summary's mean."""
    if kind in ("gauge", "sum"):
        return float(_finite(point.get("asDouble", point.get("asInt", 0)))), None, None
    count, total = _int(point.get("count")), float(_finite(point.get("sum")))
    return (total / count if count else 0.0), count, total


def metric_rows(request: Mapping[str, Any], now_ns: int) -> Rows:
    """Rows for a ``{"resourceMetrics": [...]}`` request, and the facts of platform metrics."""
    rows = Rows()
    facts: dict[str, Invocation] = {}
    for resource, _, metric, kind, point in model.iter_metric_points(request):
        name, unit = metric.get("name", ""), metric.get("unit", "")
        function = A.function_name(resource)
        fact = A.METRIC_FACTS.get(A.normalise(name))
        value, count, total = _value(kind, point)
        attrs = A.to_dict(point.get("attributes"))
        rid = A.first(attrs, A.REQUEST_ID_KEYS) or A.first(resource, A.REQUEST_ID_KEYS)
        time_ns = _int(point.get("timeUnixNano")) or now_ns
        request_id = None if rid is None else str(rid)
        rows.points.append(
            (time_ns, function, request_id, name, unit, kind, value, count, total, _dumps(attrs))
        )
        if fact is not None and request_id is not None:
            inv = facts.setdefault(
                request_id,
                Invocation(request_id, function=function, start_ns=time_ns, authoritative=True),
            )
            _apply_metric_fact(inv, fact, value, unit)
    rows.invocations.extend(facts.values())
    return rows


def _apply_metric_fact(inv: Invocation, fact: str, value: float, unit: str) -> None:
    if fact.startswith("status:"):
        status = fact.partition(":")[2]
        if value > 0 and A.STATUS_RANK[status] > A.STATUS_RANK.get(inv.status or "ok", 0):
            inv.status = status
        return
    if fact == "cold_start":
        inv.cold_start = value > 0
        return
    setattr(inv, fact, A.scale(fact, value, unit))
    if fact == "init_ms" and value > 0:
        inv.cold_start = True
