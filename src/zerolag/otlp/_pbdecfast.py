"""A hand-written decoder for ``KeyValue`` lists, installed over the schema-driven one.

Attributes are most of every payload. The common ``KeyValue`` is a key and an ``AnyValue`` holding one
string, int, bool or double, each with one-byte lengths: that exact layout is recognised with a few index
checks; anything else (and anything malformed) goes through the generic decoder, which has the last word
on errors. The tests check the two agree on random input.
"""

from __future__ import annotations

import struct

from zerolag.otlp._pbdec import decode_message, read_length, read_varint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Any

    from zerolag.otlp._pbdec import Decoder, Table

_SIGN64 = 1 << 63
_unpack_d = struct.Struct("<d").unpack_from


def _scalar(data: bytes, tag: int, pos: int, stop: int) -> dict[str, Any] | None:
    """The AnyValue at ``data[pos:stop]`` when it is one scalar member, else None."""
    if tag == 0x0A:
        size = data[pos]
        if size < 0x80 and pos + 1 + size == stop:
            return {"stringValue": data[pos + 1 : stop].decode("utf-8")}
    elif tag == 0x18:
        value, end = read_varint(data, pos)
        if end == stop:
            return {"intValue": value - (1 << 64) if value & _SIGN64 else value}
    elif tag == 0x10:
        value, end = read_varint(data, pos)
        if end == stop:
            return {"boolValue": bool(value)}
    elif tag == 0x21 and pos + 8 == stop:
        return {"doubleValue": _unpack_d(data, pos)[0]}
    return None


def _key_value(kv_table: Table, data: bytes, start: int, stop: int, depth: int) -> dict[str, Any]:
    if stop - start >= 5 and data[start] == 0x0A and 0 < data[start + 1] < 0x80:
        key_end = start + 2 + data[start + 1]
        size = data[key_end + 1] if key_end + 3 <= stop and data[key_end] == 0x12 else 0x80
        if size < 0x80 and key_end + 2 + size == stop:
            value = _scalar(data, data[key_end + 2], key_end + 3, stop)
            if value is not None:
                return {"key": data[start + 2 : key_end].decode("utf-8"), "value": value}
    return decode_message(kv_table, data, start, stop, depth)


def key_values_decoder(name: str, kv_table: Table) -> Decoder:
    """A decoder for a repeated ``KeyValue`` field called ``name``."""

    def dec(msg: dict[str, Any], data: bytes, pos: int, end: int, depth: int) -> int:
        start, stop = read_length(data, pos, end)
        item = _key_value(kv_table, data, start, stop, depth + 1)
        items = msg.get(name)
        if items is None:
            msg[name] = [item]
        else:
            items.append(item)
        return stop

    return dec
