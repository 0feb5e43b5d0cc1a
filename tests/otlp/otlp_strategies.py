"""Hypothesis strategies for OTLP requests in the canonical dict form, derived from the schema table,
and converters to the official protobuf messages."""

from __future__ import annotations

import base64
import math
from typing import Any

from hypothesis import strategies as st

from zerolag.otlp import _schema as s

_INT_BOUNDS = {
    s.UINT32: (0, 2**32 - 1),
    s.FIXED32: (0, 2**32 - 1),
    s.ENUM: (-(2**31), 2**31 - 1),
    s.SINT32: (-(2**31), 2**31 - 1),
    s.INT64: (-(2**63), 2**63 - 1),
    s.SFIXED64: (-(2**63), 2**63 - 1),
    s.UINT64: (0, 2**64 - 1),
    s.FIXED64: (0, 2**64 - 1),
}
MAX_LIST = 3


_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    s.DOUBLE: st.floats(allow_nan=False),
    s.BOOL: st.booleans(),
    s.STRING: st.text(max_size=12),
    s.ID16: st.binary(min_size=16, max_size=16).map(bytes.hex),
    s.ID8: st.binary(min_size=8, max_size=8).map(bytes.hex),
    s.B64: st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode()),
}


def _scalar(kind: str) -> st.SearchStrategy[Any]:
    if kind in _INT_BOUNDS:
        low, high = _INT_BOUNDS[kind]
        return st.one_of(st.integers(low, high), st.sampled_from([low, high, 1, 127, 128, 300]))
    return _SCALARS[kind]


_MESSAGES: dict[str, st.SearchStrategy[dict[str, Any]]] = {}


def message(name: str, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Canonical dicts of message ``name``: no defaults, no empty lists, at most one oneof member."""
    key = f"{name}/{min(depth, 3)}"
    if key not in _MESSAGES:
        _MESSAGES[key] = st.deferred(lambda: _build(name, depth))
    return _MESSAGES[key]


def _field(kind: str, flags: int, depth: int) -> st.SearchStrategy[Any] | None:
    if kind in s.MESSAGES:
        if depth >= 3 and kind in ("ArrayValue", "KeyValueList", "AnyValue"):
            return None
        value = message(kind, depth + 1)
    else:
        value = _scalar(kind)
        if not flags & (s.PRES | s.REP):
            value = value.filter(bool)
    if flags & s.REP:
        return st.lists(value, min_size=1, max_size=MAX_LIST)
    return value


def _build(name: str, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    oneof = set(s.ONEOFS.get(name, ()))
    optional = {}
    for _number, json_name, kind, flags in s.MESSAGES[name]:
        if json_name in oneof:
            continue
        strategy = _field(kind, flags, depth)
        if strategy is not None:
            optional[json_name] = strategy
    base = st.fixed_dictionaries({}, optional=optional)
    if not oneof:
        return base
    choices = {n: _field(k, f, depth) for _num, n, k, f in s.MESSAGES[name] if n in oneof}
    members = [st.builds(lambda n, v: {n: v}, st.just(n), c) for n, c in choices.items() if c is not None]
    return st.builds(lambda d, o: {**d, **o}, base, st.one_of(st.just({}), *members))


def request(signal: str) -> st.SearchStrategy[dict[str, Any]]:
    """Canonical export requests of ``signal``."""
    return message(s.REQUEST_MESSAGE[signal])


# --- official messages --------------------------------------------------------------------------------


def official_class(signal: str) -> Any:
    """The official ``Export*ServiceRequest`` class of ``signal``."""
    if signal == "traces":
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        return ExportTraceServiceRequest
    if signal == "metrics":
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

        return ExportMetricsServiceRequest
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    return ExportLogsServiceRequest


def to_proto_json(name: str, value: dict[str, Any]) -> dict[str, Any]:
    """Our dict form -> the form ``google.protobuf.json_format.ParseDict`` takes (base64 ids)."""
    fields = {f[1]: f for f in s.MESSAGES[name]}
    out: dict[str, Any] = {}
    for key, item in value.items():
        _n, _name, kind, flags = fields[key]
        items = item if flags & s.REP else [item]
        converted = [_to_proto_value(kind, x) for x in items]
        out[key] = converted if flags & s.REP else converted[0]
    return out


def _to_proto_value(kind: str, value: Any) -> Any:
    if kind in s.MESSAGES:
        return to_proto_json(kind, value)
    if kind in (s.ID16, s.ID8):
        return base64.b64encode(bytes.fromhex(value)).decode()
    if kind == s.DOUBLE and value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def to_official(signal: str, value: dict[str, Any]) -> Any:
    """Build the official message equal to our dict."""
    from google.protobuf.json_format import ParseDict

    return ParseDict(to_proto_json(s.REQUEST_MESSAGE[signal], value), official_class(signal)())
