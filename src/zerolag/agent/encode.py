"""A specialised OTLP protobuf encoder for the agent's own spans, log records and metric points.

It writes the OTLP 1.x messages directly from the agent's objects, with the field tags precomputed, and
applies redaction on the way. Checked against ``opentelemetry-proto`` and ``zerolag.otlp.protobuf`` in the
tests.
Runs on the exporter thread, off the handler's path.
"""

from __future__ import annotations

import struct

from zerolag.agent.redact import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any

    from zerolag.agent.spans import Span

_pack_double = struct.Struct("<d").pack
_MASK64 = (1 << 64) - 1


def varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,)) if n >= 0 else varint(n & _MASK64)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def ld(tag: int, payload: bytes) -> bytes:
    """A length-delimited field (tag = the precomputed key byte)."""
    n = len(payload)
    return (bytes((tag, n)) if n < 0x80 else bytes((tag,)) + varint(n)) + payload


def _string(tag: int, s: str) -> bytes:
    return ld(tag, s.encode("utf-8", "replace"))


def any_value(v: Any) -> bytes:  # noqa: PLR0911 - one return per AnyValue case
    """An ``AnyValue`` message."""
    if isinstance(v, str):
        return _string(0x0A, v)
    if isinstance(v, bool):
        return b"\x10\x01" if v else b"\x10\x00"
    if isinstance(v, int):
        return b"\x18" + varint(v & _MASK64 if -(1 << 63) <= v < (1 << 63) else 0)
    if isinstance(v, float):
        return b"\x21" + _pack_double(v)
    if isinstance(v, (list, tuple)):
        return ld(0x2A, b"".join(ld(0x0A, any_value(x)) for x in v))
    if isinstance(v, dict):
        return ld(0x32, b"".join(ld(0x0A, key_value(str(k), x)) for k, x in v.items()))
    if isinstance(v, (bytes, bytearray)):
        return ld(0x3A, bytes(v))
    if v is None:
        return b""
    return _string(0x0A, str(v))


def key_value(key: str, value: Any) -> bytes:
    return _string(0x0A, key) + ld(0x12, any_value(value))


# Encoded (redacted) attributes by (tag, key, type, value, redactor), for scalar values: most attributes
# repeat from one invocation to the next (the function's ARN, trigger, logger names, code locations), and a
# cache hit is a dict lookup instead of ~8 small encodes. Bounded: cleared when full (short strings only).
_KV_CACHE: dict[tuple[Any, ...], bytes] = {}
_KV_LIMIT = 2048
_KV_MAX_STR = 200


def attributes(tag: int, attrs: dict[str, Any], redactor: Redactor | None) -> bytes:
    if not attrs:
        return b""
    cache = _KV_CACHE
    parts = []
    for k, v in attrs.items():
        t = type(v)
        key = (
            (tag, k, t, v, redactor)
            if (t is str and len(v) <= _KV_MAX_STR) or t is bool or t is int
            else None
        )
        if key is not None:
            hit = cache.get(key)
            if hit is not None:
                parts.append(hit)
                continue
        enc = ld(tag, key_value(str(k), v if redactor is None else redactor.one(k, v)))
        if key is not None:
            if len(cache) >= _KV_LIMIT:
                cache.clear()
            cache[key] = enc
        parts.append(enc)
    return b"".join(parts)


def _fixed64(tag: int, n: int) -> bytes:
    return bytes((tag,)) + (n & _MASK64).to_bytes(8, "little")


def encode_span(s: Span, redactor: Redactor | None) -> bytes:
    parts = [
        b"\x0a\x10" + s.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + s.span_id.to_bytes(8, "big"),
    ]
    if s.parent_id:
        parts.append(b"\x22\x08" + s.parent_id.to_bytes(8, "big"))
    parts.append(_string(0x2A, s.name))
    parts.append(bytes((0x30, s.kind)))
    parts.append(_fixed64(0x39, s.start_time))
    parts.append(_fixed64(0x41, s.end_time))
    parts.append(attributes(0x4A, s.attributes, redactor))
    if s.events:
        for name, ts, attrs in s.events:
            parts.append(
                ld(0x5A, _fixed64(0x09, ts) + _string(0x12, name) + attributes(0x1A, attrs, redactor))
            )
    if s.status:
        status = (_string(0x12, s.status_message) if s.status_message else b"") + bytes((0x18, s.status))
        parts.append(ld(0x7A, status))
    return b"".join(parts)


def resource(attrs: dict[str, Any]) -> bytes:
    """The ``Resource`` field (tag 1 of every Resource* message), encoded once per process."""
    return ld(0x0A, attributes(0x0A, attrs, None))


def scope(name: str, version: str) -> bytes:
    """The ``InstrumentationScope`` field (tag 1 of every Scope* message)."""
    return ld(0x0A, _string(0x0A, name) + _string(0x12, version))


def traces(
    resource_field: bytes, scope_field: bytes, spans: Iterable[Span], redactor: Redactor | None
) -> bytes:
    """An ``ExportTraceServiceRequest``."""
    body = b"".join(ld(0x12, encode_span(s, redactor)) for s in spans)
    return ld(0x0A, resource_field + ld(0x12, scope_field + body))


def encode_log(rec: Sequence[Any], redactor: Redactor | None) -> bytes:
    """One ``LogRecord`` from (time_ns, severity number, severity text, body, trace id, span id, attrs)."""
    ts, sev_num, sev_text, body, trace_id, span_id, attrs = rec
    parts = [_fixed64(0x09, ts), bytes((0x10, sev_num)), _string(0x1A, sev_text), ld(0x2A, any_value(body))]
    if attrs:
        parts.append(attributes(0x32, attrs, redactor))
    if trace_id:
        parts.append(b"\x4a\x10" + trace_id.to_bytes(16, "big"))
        parts.append(b"\x52\x08" + span_id.to_bytes(8, "big"))
    parts.append(_fixed64(0x59, ts))
    return b"".join(parts)


def logs(
    resource_field: bytes, scope_field: bytes, records: Iterable[Sequence[Any]], redactor: Redactor | None
) -> bytes:
    """An ``ExportLogsServiceRequest``."""
    body = b"".join(ld(0x12, encode_log(r, redactor)) for r in records)
    return ld(0x0A, resource_field + ld(0x12, scope_field + body))


def _number_point(
    attrs: dict[str, Any], value: float, start: int, now: int, redactor: Redactor | None
) -> bytes:
    val = (
        b"\x31" + (value & _MASK64).to_bytes(8, "little")
        if isinstance(value, int)
        else b"\x21" + _pack_double(value)
    )
    return _fixed64(0x11, start) + _fixed64(0x19, now) + val + attributes(0x3A, attrs, redactor)


_BOUNDS: dict[tuple[float, ...], bytes] = {}  # encoded explicit bounds (a handful of bucket layouts)


def _histogram_point(
    attrs: dict[str, Any], h: Sequence[Any], start: int, now: int, redactor: Redactor | None
) -> bytes:
    count, total, low, high, bounds, counts = h
    key = tuple(bounds)
    enc_bounds = _BOUNDS.get(key)
    if enc_bounds is None:
        enc_bounds = ld(0x3A, struct.pack(f"<{len(key)}d", *key))
        if len(_BOUNDS) < 64:
            _BOUNDS[key] = enc_bounds
    parts = [_fixed64(0x11, start), _fixed64(0x19, now), _fixed64(0x21, count), b"\x29" + _pack_double(total)]
    parts.append(ld(0x32, struct.pack(f"<{len(counts)}Q", *[c & _MASK64 for c in counts])))
    parts.append(enc_bounds)
    parts.append(attributes(0x4A, attrs, redactor))
    if count:
        parts.append(b"\x59" + _pack_double(low) + b"\x61" + _pack_double(high))
    return b"".join(parts)


def encode_metric(metric: Sequence[Any], start: int, now: int, redactor: Redactor | None) -> bytes:
    """One ``Metric`` from (name, unit, kind, points); kind: counter, gauge or histogram (delta)."""
    name, unit, kind, points = metric
    head = _string(0x0A, name) + (_string(0x1A, unit) if unit else b"")
    if kind == "histogram":
        dps = b"".join(ld(0x0A, _histogram_point(a, h, start, now, redactor)) for a, h in points)
        return head + ld(0x4A, dps + b"\x10\x01")
    dps = b"".join(ld(0x0A, _number_point(a, v, start, now, redactor)) for a, v in points)
    if kind == "gauge":
        return head + ld(0x2A, dps)
    return head + ld(0x3A, dps + b"\x10\x01\x18\x01")


def metrics(  # noqa: PLR0917 - mirrors traces()/logs() plus the interval
    resource_field: bytes,
    scope_field: bytes,
    items: Iterable[Sequence[Any]],
    start: int,
    now: int,
    redactor: Redactor | None,
) -> bytes:
    """An ``ExportMetricsServiceRequest``."""
    body = b"".join(ld(0x12, encode_metric(m, start, now, redactor)) for m in items)
    return ld(0x0A, resource_field + ld(0x12, scope_field + body))
