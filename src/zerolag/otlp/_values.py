"""Attribute and AnyValue conversion between Python values and the OTLP dict form."""

from __future__ import annotations

from binascii import a2b_base64, b2a_base64

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    Dict = dict[str, Any]


def _bytes_value(value: bytes | bytearray | memoryview) -> Dict:
    return {"bytesValue": b2a_base64(bytes(value), newline=False).decode("ascii")}


def _array_value(value: list[Any] | tuple[Any, ...]) -> Dict:
    return {"arrayValue": put({}, values=[any_value(item) for item in value])}


def _kvlist_value(value: Mapping[str, Any]) -> Dict:
    return {"kvlistValue": put({}, values=attributes(value))}


# Exact types first (the fast path), then isinstance for subclasses; bool before int.
_CONVERT: dict[type, Callable[[Any], Dict]] = {
    str: lambda v: {"stringValue": v},
    bool: lambda v: {"boolValue": v},
    int: lambda v: {"intValue": int(v)} if -(2**63) <= v < 2**63 else {"stringValue": str(v)},  # int64 only
    float: lambda v: {"doubleValue": float(v)},
    bytes: _bytes_value,
    bytearray: _bytes_value,
    memoryview: _bytes_value,
    list: _array_value,
    tuple: _array_value,
    dict: _kvlist_value,
    type(None): lambda v: {},
}


def any_value(value: Any) -> Dict:
    """Convert a Python value to an ``AnyValue`` dict (str, bool, int, float, bytes, list, mapping, None).

    Anything else becomes its ``str()``.
    """
    convert = _CONVERT.get(type(value))
    if convert is None:
        convert = next(
            (c for t, c in _CONVERT.items() if isinstance(value, t)), lambda v: {"stringValue": str(v)}
        )
    return convert(value)


def from_any_value(value: Mapping[str, Any]) -> Any:
    """Convert an ``AnyValue`` dict back to a Python value (bytes for ``bytesValue``; None when empty)."""
    for key, item in value.items():
        if key in ("stringValue", "boolValue", "intValue", "doubleValue"):
            return item
        if key == "bytesValue":
            return a2b_base64(item)
        if key == "arrayValue":
            return [from_any_value(v) for v in item.get("values", ())]
        if key == "kvlistValue":
            return attributes_to_dict(item.get("values", ()))
    return None


def attributes(mapping: Mapping[str, Any] | None) -> list[Dict]:
    """Convert a mapping to a ``KeyValue`` list; ``None`` values are left out."""
    if not mapping:
        return []
    return [{"key": key, "value": any_value(value)} for key, value in mapping.items() if value is not None]


def attributes_to_dict(kvs: Iterable[Mapping[str, Any]]) -> Dict:
    """Convert a ``KeyValue`` list to a plain dict of Python values."""
    return {kv.get("key", ""): from_any_value(kv.get("value", {})) for kv in kvs}


def put(target: Dict, **fields: Any) -> Dict:
    """Set the fields that are not defaults (falsy), keeping the dict canonical."""
    for key, value in fields.items():
        if value:
            target[key] = value
    return target


def resource(resource_attrs: Mapping[str, Any] | None) -> Dict:
    """A ``Resource`` with the given attributes."""
    return put({}, attributes=attributes(resource_attrs))


def scope(name: str, version: str = "") -> Dict:
    """An ``InstrumentationScope``."""
    return put({}, name=name, version=version)
