"""Hand-written encoders for the hottest messages, installed over the schema-driven ones.

Attributes dominate the size and the cost of every OTLP payload, and the agent encodes spans on the
user's invocation path, so ``KeyValue``, ``AnyValue`` and ``Span`` skip the generic per-field dispatch.
Each must produce what the generic encoder in ``_pbenc`` produces (the tests check it on random input);
anything unusual falls back to the generic path.
"""

from __future__ import annotations

from zerolag.otlp import _schema as s
from zerolag.otlp._pbenc import compile_tables, encode_message, id_bytes, pack_d, pack_Q, signed, varint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from zerolag.otlp._pbenc import Encoder, Fields

TABLES = compile_tables()
_ANY = TABLES["AnyValue"]
_STATUS = TABLES["Status"]
_SMALL = [bytes((i,)) for i in range(128)]
_KEYS: dict[str, bytes] = {}  # attribute key -> encoded KeyValue.key field; keys repeat a lot
_KEYS_MAX = 4096


def _key_head(key: str) -> bytes:
    raw = key.encode()
    head = b"\x0a" + varint(len(raw)) + raw
    if len(_KEYS) >= _KEYS_MAX:
        _KEYS.clear()
    _KEYS[key] = head
    return head


def any_value(value: dict[str, Any]) -> bytes:
    """Encode an ``AnyValue``; one-member scalar values take the fast path."""
    if len(value) == 1:
        for key, item in value.items():
            if key == "stringValue":
                raw: bytes = item.encode()
                size = len(raw)
                return (b"\x0a" + _SMALL[size] if size < 128 else b"\x0a" + varint(size)) + raw
            if key == "intValue" and type(item) is int:
                return b"\x18" + signed(item)
            if key == "boolValue":
                return b"\x10\x01" if item else b"\x10\x00"
            if key == "doubleValue":
                return b"\x21" + pack_d(item)
    return encode_message(_ANY, value)


def key_value(kv: dict[str, Any]) -> bytes:
    """Encode a ``KeyValue``."""
    key = kv.get("key")
    head = (_KEYS.get(key) or _key_head(key)) if key else b""
    value = kv.get("value")
    if value is None:
        return head
    body = any_value(value)
    size = len(body)
    return head + (b"\x12" + _SMALL[size] if size < 128 else b"\x12" + varint(size)) + body


def _attributes_field(tag: bytes) -> Encoder:
    def enc(out: list[bytes], values: Any) -> None:
        append = out.append
        for kv in values:
            value = kv.get("value")
            text = value.get("stringValue") if value is not None and len(value) == 1 else None
            if text is None or len(text) > 40:
                body = key_value(kv)
            else:  # the commonest attribute of all, a short string: KeyValue and AnyValue inline
                key = kv.get("key")
                head = (_KEYS.get(key) or _key_head(key)) if key else b""
                raw = text.encode()
                size = len(raw)
                body = head + _STRING_VALUE_HEADS[size] + raw if size < 126 else key_value(kv)
            size = len(body)
            append(tag + (_SMALL[size] if size < 128 else varint(size)) + body)

    return enc


# KeyValue.value tag + AnyValue length + AnyValue.stringValue tag + string length, for short strings.
_STRING_VALUE_HEADS = [bytes((0x12, size + 2, 0x0A, size)) for size in range(126)]


def _any_value_field(tag: bytes) -> Encoder:
    def enc(out: list[bytes], value: Any) -> None:
        body = any_value(value)
        out += (tag, varint(len(body)), body)

    return enc


_SPAN_ATTRIBUTES = _attributes_field(b"\x4a")
_SPAN_RARE: tuple[tuple[str, Encoder], ...] = ()  # filled by _install
_SPAN_RARE_KEYS = frozenset(
    (
        "traceState",
        "flags",
        "droppedAttributesCount",
        "events",
        "droppedEventsCount",
        "links",
        "droppedLinksCount",
    )
)
fromhex = bytes.fromhex


def _string(tag: bytes, value: str) -> bytes:
    raw = value.encode()
    size = len(raw)
    return tag + (_SMALL[size] if size < 128 else varint(size)) + raw


def _span_ids(get: Callable[[str], Any]) -> list[bytes]:
    out = []
    if item := get("traceId"):
        raw = fromhex(item)
        out.append(b"\x0a\x10" + raw if len(raw) == 16 else id_bytes(item, 16))
    if item := get("spanId"):
        raw = fromhex(item)
        out.append(b"\x12\x08" + raw if len(raw) == 8 else id_bytes(item, 8))
    if item := get("parentSpanId"):
        raw = fromhex(item)
        out.append(b"\x22\x08" + raw if len(raw) == 8 else id_bytes(item, 8))
    return out


def span(value: dict[str, Any]) -> bytes:
    """Encode a ``Span``: the common fields inline, the rare ones through the generic closures."""
    get = value.get
    out = _span_ids(get)
    if item := get("name"):
        out.append(_string(b"\x2a", item))
    if item := get("kind"):
        out.append(b"\x30" + signed(item))
    if item := get("startTimeUnixNano"):
        out.append(b"\x39" + pack_Q(item))
    if item := get("endTimeUnixNano"):
        out.append(b"\x41" + pack_Q(item))
    if item := get("attributes"):
        _SPAN_ATTRIBUTES(out, item)
    if not _SPAN_RARE_KEYS.isdisjoint(value):
        for key, enc in _SPAN_RARE:
            if (item := get(key)) is not None:
                enc(out, item)
    if (item := get("status")) is not None:
        body = encode_message(_STATUS, item)
        out += (b"\x7a", varint(len(body)), body)
    return b"".join(out)


def _install(tables: dict[str, Fields]) -> None:
    global _SPAN_RARE
    for name, fields in s.MESSAGES.items():
        for number, json_name, kind, flags in fields:
            if kind == "KeyValue":
                tables[name][json_name] = _attributes_field(varint(number << 3 | 2))
            elif kind == "AnyValue" and not flags & s.REP:
                tables[name][json_name] = _any_value_field(varint(number << 3 | 2))
    _SPAN_RARE = tuple((key, tables["Span"][key]) for key in sorted(_SPAN_RARE_KEYS))

    def enc_spans(out: list[bytes], values: Any) -> None:
        for value in values:
            body = span(value)
            out += (b"\x12", varint(len(body)), body)

    tables["ScopeSpans"]["spans"] = enc_spans


_install(TABLES)
