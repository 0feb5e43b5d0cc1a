"""OTLP/JSON codec: ``loads(signal, data) -> request`` and ``dumps(request) -> bytes``.

``loads`` validates a payload against the schema and normalizes it into the canonical dict form that
``protobuf.decode`` returns: integers given as numbers or strings become ``int``, enum names become
numbers, ids are lowercase hex (base64 ids, as protobuf's own ``json_format`` writes them, are accepted
too), defaults and empty lists are dropped, unknown keys are ignored. Anything else raises
``OtlpDecodeError``.

``dumps`` writes canonical OTLP/JSON: 64-bit integers as strings, enums as numbers, ids as hex,
non-finite doubles as "NaN"/"Infinity"/"-Infinity", compact separators.
"""

from __future__ import annotations

import json
import math
from binascii import Error as BinasciiError
from binascii import a2b_base64, b2a_base64
from typing import Any

from zerolag.otlp import TOP_LEVEL_KEY, OtlpDecodeError, Signal
from zerolag.otlp import _schema as s

__all__ = ["dumps", "loads"]

MAX_DEPTH = 64
_INT_RANGE = {
    s.UINT32: (0, 2**32 - 1),
    s.FIXED32: (0, 2**32 - 1),
    s.ENUM: (-(2**31), 2**31 - 1),
    s.SINT32: (-(2**31), 2**31 - 1),
    s.INT64: (-(2**63), 2**63 - 1),
    s.SFIXED64: (-(2**63), 2**63 - 1),
    s.UINT64: (0, 2**64 - 1),
    s.FIXED64: (0, 2**64 - 1),
}
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_ID_SIZE = {s.ID16: 16, s.ID8: 8}
_SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_FIELDS: dict[str, dict[str, s.Field]] = {
    name: {field[1]: field for field in fields} for name, fields in s.MESSAGES.items()
}
_SIGNAL_OF_KEY = {key: signal for signal, key in TOP_LEVEL_KEY.items()}


def loads(signal: Signal, data: bytes | str) -> dict[str, Any]:
    """Parse and validate an OTLP/JSON export request of ``signal`` into the dict form."""
    message = s.REQUEST_MESSAGE.get(signal)
    if message is None:
        raise ValueError(f"unknown OTLP signal {signal!r}")
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise OtlpDecodeError(f"invalid JSON: {exc}") from exc
    try:
        return _load_message(message, obj, 0)
    except RecursionError as exc:
        raise OtlpDecodeError("JSON nested too deep") from exc


def _fail(message: str, key: str, why: str) -> OtlpDecodeError:
    return OtlpDecodeError(f"{message}.{key}: {why}")


def _load_message(message: str, obj: Any, depth: int) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise OtlpDecodeError(f"{message} must be a JSON object")
    if depth > MAX_DEPTH:
        raise OtlpDecodeError("messages nested too deep")
    fields = _FIELDS[message]
    out: dict[str, Any] = {}
    for key, value in obj.items():
        field = fields.get(key)
        if field is None or value is None:
            continue
        _number, name, kind, flags = field
        if flags & s.REP:
            if not isinstance(value, list):
                raise _fail(message, key, "must be a JSON array")
            items = [_load_value(message, name, kind, item, depth) for item in value]
            if items:
                out[name] = items
            continue
        loaded = _load_value(message, name, kind, value, depth)
        if flags & s.PRES or loaded:
            out[name] = loaded
    oneof = s.ONEOFS.get(message, ())
    if oneof and sum(name in out for name in oneof) > 1:
        raise OtlpDecodeError(f"{message}: more than one of {', '.join(oneof)}")
    return out


def _load_value(message: str, name: str, kind: str, value: Any, depth: int) -> Any:
    if kind in _FIELDS:
        return _load_message(kind, value, depth + 1)
    if kind in _INT_RANGE:
        return _load_int(message, name, kind, value)
    if kind == s.DOUBLE:
        return _load_double(message, name, value)
    if kind == s.BOOL:
        if not isinstance(value, bool):
            raise _fail(message, name, "must be true or false")
        return value
    return _load_string(message, name, kind, value)


def _load_string(message: str, name: str, kind: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(message, name, "must be a string")
    if kind in _ID_SIZE:
        return _load_id(message, name, value, _ID_SIZE[kind])
    if kind == s.B64:
        return _b64(_unbase64(message, name, value))
    return value


def _load_int(message: str, name: str, kind: str, value: Any) -> int:
    if kind == s.ENUM and isinstance(value, str) and value in s.ENUM_NAMES.get(name, {}):
        return s.ENUM_NAMES[name][value]
    if isinstance(value, bool):
        raise _fail(message, name, "must be an integer")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(value, 10)
        except ValueError:
            raise _fail(message, name, f"not an integer: {value!r}") from None
    if not isinstance(value, int):
        raise _fail(message, name, "must be an integer")
    low, high = _INT_RANGE[kind]
    if not low <= value <= high:
        raise _fail(message, name, f"{value} out of range")
    return value


def _load_double(message: str, name: str, value: Any) -> float:
    if isinstance(value, str) and value in _SPECIAL_DOUBLES:
        return _SPECIAL_DOUBLES[value]
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise _fail(message, name, "must be a number")
    try:
        return float(value)
    except (ValueError, OverflowError):
        raise _fail(message, name, f"not a number: {value!r}") from None


def _unbase64(message: str, name: str, value: str) -> bytes:
    """Strictly decode standard or URL-safe base64, padded or not."""
    body = value.rstrip("=")
    if len(value) - len(body) > 2 or len(body) % 4 == 1 or not _B64_CHARS.issuperset(body):
        raise _fail(message, name, "invalid base64")
    body = body.replace("-", "+").replace("_", "/")
    try:
        return a2b_base64(body + "=" * (-len(body) % 4))
    except BinasciiError:
        raise _fail(message, name, "invalid base64") from None


def _b64(raw: bytes) -> str:
    return b2a_base64(raw, newline=False).decode("ascii")


def _load_id(message: str, name: str, value: str, size: int) -> str:
    if len(value) == 2 * size:
        try:
            return bytes.fromhex(value).hex()
        except ValueError:
            raise _fail(message, name, "invalid hex id") from None
    if not value:
        return ""
    raw = _unbase64(message, name, value)
    if len(raw) != size:
        raise _fail(message, name, f"id must be {size} bytes")
    return raw.hex()


# --- dumps ------------------------------------------------------------------------------------------


def dumps(request: dict[str, Any]) -> bytes:
    """Write an export request (of any signal, told by its top-level key) as canonical OTLP/JSON."""
    signal = next((_SIGNAL_OF_KEY[key] for key in request if key in _SIGNAL_OF_KEY), "traces")
    obj = _dump_message(s.REQUEST_MESSAGE[signal], request)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def _dump_message(message: str, value: dict[str, Any]) -> dict[str, Any]:
    fields = _FIELDS[message]
    out: dict[str, Any] = {}
    for key, item in value.items():
        field = fields.get(key)
        if field is None or item is None:
            continue
        _number, name, kind, flags = field
        if flags & s.REP:
            if item:
                out[name] = [_dump_value(kind, x) for x in item]
        elif flags & s.PRES or item:
            out[name] = _dump_value(kind, item)
    return out


def _dump_value(kind: str, value: Any) -> Any:
    if kind in _FIELDS:
        return _dump_message(kind, value)
    if kind in s.INT64_KINDS:
        return str(int(value))
    if kind == s.DOUBLE:
        value = float(value)
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
