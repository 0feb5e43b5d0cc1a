"""Protobuf encoding driven by ``_schema``: one small closure per field, built once at import.

A message encodes by walking the dict's own items (sparse dicts are the common case) and calling the
field's closure, which appends wire bytes to a list. Values equal to the proto3 default are omitted
unless the field has presence. ``_pbfast`` adds hand-written fast paths for the hottest messages.
"""

from __future__ import annotations

import struct
from binascii import a2b_base64

from zerolag.otlp import _schema as s

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Encoder = Callable[[list[bytes], Any], None]
    Fields = dict[str, Encoder]

_SMALL = [bytes((i,)) for i in range(128)]
_U64 = 1 << 64
pack_q = struct.Struct("<q").pack
pack_Q = struct.Struct("<Q").pack
pack_d = struct.Struct("<d").pack
pack_I = struct.Struct("<I").pack


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


def signed(n: int) -> bytes:
    return varint(n + _U64 if n < 0 else n)


def _zigzag(n: int) -> bytes:
    return varint(n << 1 if n >= 0 else ((-n) << 1) - 1)


def id_bytes(value: str, size: int) -> bytes:
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
    s.ENUM: signed,
    s.INT64: signed,
    s.UINT64: varint,
    s.SINT32: _zigzag,
    s.BOOL: _bool,
    s.FIXED64: pack_Q,
    s.SFIXED64: pack_q,
    s.DOUBLE: pack_d,
    s.FIXED32: pack_I,
}
_LENGTH_DELIMITED: dict[str, Callable[[Any], bytes]] = {
    s.STRING: str.encode,
    s.ID16: lambda v: id_bytes(v, 16),
    s.ID8: lambda v: id_bytes(v, 8),
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


def compile_tables() -> dict[str, Fields]:
    """Compile the encoder table of every message in the schema."""
    tables: dict[str, Fields] = {name: {} for name in s.MESSAGES}
    for name, fields in s.MESSAGES.items():
        for field in fields:
            tables[name][field[1]] = _field_encoder(field, tables)
    return tables
