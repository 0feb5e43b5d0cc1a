"""The decoder tables: one closure per (field, wire type), compiled from ``_schema`` on first use.

See ``_pbdec`` for the message loop and the canonical form the closures store.
"""

from __future__ import annotations

import struct
from binascii import b2a_base64

from zerolag.otlp import OtlpDecodeError
from zerolag.otlp import _schema as s
from zerolag.otlp._pbdec import decode_message, read_length, read_varint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from zerolag.otlp._pbdec import Decoder, Table

_SIGN64 = 1 << 63
_unpack_d = struct.Struct("<d").unpack_from
_unpack_Q = struct.Struct("<Q").unpack_from
_unpack_q = struct.Struct("<q").unpack_from
_unpack_I = struct.Struct("<I").unpack_from


def _store(name: str, presence: bool, siblings: tuple[str, ...]) -> Callable[[dict[str, Any], Any], None]:
    if siblings:

        def store_oneof(msg: dict[str, Any], value: Any) -> None:
            for other in siblings:
                msg.pop(other, None)
            msg[name] = value

        return store_oneof

    def store(msg: dict[str, Any], value: Any) -> None:
        if value or presence:
            msg[name] = value
        else:
            msg.pop(name, None)

    return store


def _hex_id(size: int) -> Callable[[bytes], str]:
    def convert(raw: bytes) -> str:
        if raw and len(raw) != size:
            raise OtlpDecodeError(f"id of {len(raw)} bytes, expected {size}")
        return raw.hex()

    return convert


def _b64(raw: bytes) -> str:
    return b2a_base64(raw, newline=False).decode("ascii")


def _int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _int64(value: int) -> int:
    return value - (1 << 64) if value & _SIGN64 else value


def _unzigzag32(value: int) -> int:
    value &= 0xFFFFFFFF
    return (value >> 1) ^ -(value & 1)


_DELIMITED: dict[str, Callable[[bytes], Any]] = {
    s.STRING: lambda raw: raw.decode("utf-8"),
    s.ID16: _hex_id(16),
    s.ID8: _hex_id(8),
    s.B64: _b64,
}
_VARINT: dict[str, Callable[[int], Any]] = {
    s.UINT32: lambda v: v & 0xFFFFFFFF,
    s.ENUM: _int32,
    s.INT64: _int64,
    s.UINT64: lambda v: v,
    s.SINT32: _unzigzag32,
    s.BOOL: bool,
}
_FIXED: dict[str, tuple[Callable[[bytes, int], tuple[Any, ...]], int, str]] = {
    s.FIXED64: (_unpack_Q, 8, "Q"),
    s.SFIXED64: (_unpack_q, 8, "q"),
    s.DOUBLE: (_unpack_d, 8, "d"),
    s.FIXED32: (_unpack_I, 4, "I"),
}


def _wrong_wire_type(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
    raise OtlpDecodeError("wrong wire type for a known field")


def _message_decoder(name: str, sub: Table, repeated: bool, siblings: tuple[str, ...]) -> Decoder:
    if repeated:

        def dec_list(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
            start, stop = read_length(data, pos, end)
            item = decode_message(sub, data, start, stop, depth + 1)
            items = msg.get(name)
            if items is None:
                msg[name] = [item]
            else:
                items.append(item)
            return stop

        return dec_list

    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        start, stop = read_length(data, pos, end)
        if siblings and msg:
            for other in siblings:
                msg.pop(other, None)
        msg[name] = decode_message(sub, data, start, stop, depth + 1, msg=msg.get(name))
        return stop

    return dec


def _string_decoder(name: str) -> Decoder:
    """The most common field of all, inlined: a string without presence."""

    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        start, stop = read_length(data, pos, end)
        if stop > start:
            msg[name] = data[start:stop].decode("utf-8")
        else:
            msg.pop(name, None)
        return stop

    return dec


def _delimited_decoder(
    convert: Callable[[bytes], Any], store: Callable[[dict[str, Any], Any], None]
) -> Decoder:
    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        start, stop = read_length(data, pos, end)
        store(msg, convert(data[start:stop]))
        return stop

    return dec


def _varint_decoder(convert: Callable[[int], Any], store: Callable[[dict[str, Any], Any], None]) -> Decoder:
    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        value, pos = read_varint(data, pos)
        store(msg, convert(value))
        return pos

    return dec


def _fixed_decoder(
    unpack: Callable[[bytes, int], tuple[Any, ...]], size: int, store: Callable[[dict[str, Any], Any], None]
) -> Decoder:
    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        stop = pos + size
        if stop > end:
            raise OtlpDecodeError("fixed-size field runs past the end of its message")
        store(msg, unpack(data, pos)[0])
        return stop

    return dec


def _append(name: str) -> Callable[[dict[str, Any], Any], None]:
    def store(msg: dict[str, Any], value: Any) -> None:
        msg.setdefault(name, []).append(value)

    return store


def _packed_decoder(name: str, kind: str) -> Decoder:
    fixed = _FIXED.get(kind)
    convert = _VARINT.get(kind)

    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        start, stop = read_length(data, pos, end)
        if fixed is not None:
            count, rest = divmod(stop - start, fixed[1])
            if rest:
                raise OtlpDecodeError("packed field length is not a multiple of its element size")
            values: list[Any] = list(struct.unpack_from(f"<{count}{fixed[2]}", data, start))
        else:
            assert convert is not None
            values = []
            while start < stop:
                value, start = read_varint(data, start)
                values.append(convert(value))
            if start != stop:
                raise OtlpDecodeError("packed varint runs past the end of its field")
        if values:
            msg.setdefault(name, []).extend(values)
        return stop

    return dec


def _scalar_decoder(name: str, kind: str, store: Callable[[dict[str, Any], Any], None]) -> Decoder:
    if kind in _DELIMITED:
        return _delimited_decoder(_DELIMITED[kind], store)
    if kind in _VARINT:
        return _varint_decoder(_VARINT[kind], store)
    unpack, size, _code = _FIXED[kind]
    return _fixed_decoder(unpack, size, store)


def _field_decoders(
    field: s.Field, tables: dict[str, Table], siblings: tuple[str, ...]
) -> list[tuple[int, Decoder]]:
    """The (wire type, decoder) pairs a field accepts: repeated scalars take packed and unpacked forms."""
    _number, name, kind, flags = field
    repeated = bool(flags & s.REP)
    if kind in tables:
        return [(2, _message_decoder(name, tables[kind], repeated, siblings))]
    wire_type = s.WIRE_TYPE[kind]
    if repeated:
        return [(2, _packed_decoder(name, kind)), (wire_type, _scalar_decoder(name, kind, _append(name)))]
    if kind == s.STRING and not flags & s.PRES:
        return [(2, _string_decoder(name))]
    return [(wire_type, _scalar_decoder(name, kind, _store(name, bool(flags & s.PRES), siblings)))]


def _compile() -> dict[str, Table]:
    tables: dict[str, Table] = {name: {} for name in s.MESSAGES}
    for name, fields in s.MESSAGES.items():
        table = tables[name]
        oneof = s.ONEOFS.get(name, ())
        for field in fields:
            number, json_name = field[0], field[1]
            table[-number] = _wrong_wire_type  # marks a known field number: other wire types are errors
            siblings = tuple(o for o in oneof if o != json_name) if json_name in oneof else ()
            for wire_type, dec in _field_decoders(field, tables, siblings):
                table[number << 3 | wire_type] = dec
    return tables


_TABLES: dict[str, Table] = {}


def tables() -> dict[str, Table]:
    """The decoder tables, built on first use (an agent that only encodes never pays for them)."""
    if not _TABLES:
        _TABLES.update(_compile())
        _install_fast_paths(_TABLES)
    return _TABLES


def _install_fast_paths(tables: dict[str, Table]) -> None:
    from zerolag.otlp._pbdecfast import key_values_decoder

    for name, fields in s.MESSAGES.items():
        for number, json_name, kind, _flags in fields:
            if kind == "KeyValue":
                tables[name][number << 3 | 2] = key_values_decoder(json_name, tables["KeyValue"])
