"""Protobuf encoding driven by ``_schema``: one small closure per field, built once at import.

A message encodes by walking the dict's own items (sparse dicts are the common case) and calling the
field's closure, which appends wire bytes to a list. Values equal to the proto3 default are omitted
unless the field has presence. ``KeyValue`` and ``AnyValue`` have hand-written fast paths: attributes
dominate the size and the cost of every OTLP payload.
"""

from __future__ import annotations

import struct
from binascii import a2b_base64
from typing import TYPE_CHECKING, Any

from zerolag.otlp import _schema as s

if TYPE_CHECKING:
    from collections.abc import Callable

    Encoder = Callable[[list[bytes], Any], None]
    Fields = dict[str, Encoder]

_SMALL = [bytes((i,)) for i in range(128)]
_U64 = 1 << 64
_pack_q = struct.Struct("<q").pack
_pack_Q = struct.Struct("<Q").pack
_pack_d = struct.Struct("<d").pack
_pack_I = struct.Struct("<I").pack


def varint(n: int) -> bytes:
    """Encode a non-negative integer (< 2**64) as a base-128 varint."""
    if 0 <= n < 0x80:
        return _SMALL[n]
    if n < 0:
        raise ValueError(f"negative varint {n}")
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _signed(n: int) -> bytes:
    return varint(n + _U64 if n < 0 else n)


def _zigzag(n: int) -> bytes:
    return varint(n << 1 if n >= 0 else ((-n) << 1) - 1)


def _id_bytes(value: str, size: int) -> bytes:
    raw = bytes.fromhex(value)
    if len(raw) != size:
        raise ValueError(f"id {value!r} is not {size} bytes")
    return raw


def _b64(value: str) -> bytes:
    return a2b_base64(value)


def _bool(value: bool) -> bytes:
    return b"\x01" if value else b"\x00"


# kind -> value -> payload bytes (after the tag); length-delimited kinds get a length prefix.
_SCALAR: dict[str, Callable[[Any], bytes]] = {
    s.UINT32: varint,
    s.ENUM: _signed,
    s.INT64: _signed,
    s.UINT64: varint,
    s.SINT32: _zigzag,
    s.BOOL: _bool,
    s.FIXED64: _pack_Q,
    s.SFIXED64: _pack_q,
    s.DOUBLE: _pack_d,
    s.FIXED32: _pack_I,
}
_LENGTH_DELIMITED: dict[str, Callable[[Any], bytes]] = {
    s.STRING: str.encode,
    s.ID16: lambda v: _id_bytes(v, 16),
    s.ID8: lambda v: _id_bytes(v, 8),
    s.B64: _b64,
}
_PACKED_STRUCT = {s.FIXED64: "Q", s.DOUBLE: "d"}


def encode_message(fields: Fields, msg: dict[str, Any]) -> bytes:
    """Encode one message dict with its compiled field table."""
    out: list[bytes] = []
    for key, value in msg.items():
        enc = fields.get(key)
        if enc is not None and value is not None:
            enc(out, value)
    return b"".join(out)


def _message_field(tag: bytes, sub: Fields, repeated: bool) -> Encoder:
    if repeated:

        def enc_list(out: list[bytes], values: Any) -> None:
            for value in values:
                body = encode_message(sub, value)
                out += (tag, varint(len(body)), body)

        return enc_list

    def enc(out: list[bytes], value: Any) -> None:
        body = encode_message(sub, value)
        out += (tag, varint(len(body)), body)

    return enc


def _delimited_field(tag: bytes, to_bytes: Callable[[Any], bytes], presence: bool) -> Encoder:
    def enc(out: list[bytes], value: Any) -> None:
        if value or presence:
            raw = to_bytes(value)
            out += (tag, varint(len(raw)), raw)

    return enc


def _scalar_field(tag: bytes, to_bytes: Callable[[Any], bytes], presence: bool) -> Encoder:
    def enc(out: list[bytes], value: Any) -> None:
        if value or presence:
            out += (tag, to_bytes(value))

    return enc


def _packed_field(tag: bytes, kind: str) -> Encoder:
    code = _PACKED_STRUCT.get(kind)

    def enc(out: list[bytes], values: Any) -> None:
        if not values:
            return
        if code is not None:
            raw = struct.pack(f"<{len(values)}{code}", *values)
        else:
            raw = b"".join([varint(v) for v in values])
        out += (tag, varint(len(raw)), raw)

    return enc


def _field_encoder(field: s.Field, tables: dict[str, Fields]) -> Encoder:
    number, _name, kind, flags = field
    repeated, presence = bool(flags & s.REP), bool(flags & s.PRES)
    if kind in tables:
        return _message_field(varint(number << 3 | 2), tables[kind], repeated)
    if repeated:
        return _packed_field(varint(number << 3 | 2), kind)
    tag = varint(number << 3 | s.WIRE_TYPE[kind])
    if kind in _LENGTH_DELIMITED:
        return _delimited_field(tag, _LENGTH_DELIMITED[kind], presence)
    return _scalar_field(tag, _SCALAR[kind], presence)


def _compile() -> dict[str, Fields]:
    tables: dict[str, Fields] = {name: {} for name in s.MESSAGES}
    for name, fields in s.MESSAGES.items():
        for field in fields:
            tables[name][field[1]] = _field_encoder(field, tables)
    return tables


TABLES = _compile()
_ANY = TABLES["AnyValue"]


def _any_value(value: dict[str, Any]) -> bytes:
    """``AnyValue`` fast path for the one-member dicts that nearly every attribute holds."""
    if len(value) == 1:
        for key, item in value.items():
            if key == "stringValue":
                raw: bytes = item.encode()
                return b"\x0a" + varint(len(raw)) + raw
            if key == "intValue" and type(item) is int:
                return b"\x18" + _signed(item)
            if key == "boolValue":
                return b"\x10\x01" if item else b"\x10\x00"
            if key == "doubleValue":
                return b"\x21" + _pack_d(item)
    return encode_message(_ANY, value)


def _key_value(kv: dict[str, Any]) -> bytes:
    key = kv.get("key")
    value = kv.get("value")
    out = b""
    if key:
        raw = key.encode()
        out = b"\x0a" + varint(len(raw)) + raw
    if value is not None:
        body = _any_value(value)
        out += b"\x12" + varint(len(body)) + body
    return out


def _attributes_field(tag: bytes) -> Encoder:
    def enc(out: list[bytes], values: Any) -> None:
        for kv in values:
            body = _key_value(kv)
            out += (tag, varint(len(body)), body)

    return enc


def _install_fast_paths() -> None:
    for name, fields in s.MESSAGES.items():
        for number, json_name, kind, flags in fields:
            if kind == "KeyValue":
                TABLES[name][json_name] = _attributes_field(varint(number << 3 | 2))
            elif kind == "AnyValue" and not flags & s.REP:
                TABLES[name][json_name] = _any_value_field(varint(number << 3 | 2))


def _any_value_field(tag: bytes) -> Encoder:
    def enc(out: list[bytes], value: Any) -> None:
        body = _any_value(value)
        out += (tag, varint(len(body)), body)

    return enc


_install_fast_paths()
