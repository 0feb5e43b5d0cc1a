"""Protobuf decoding: the wire primitives and the message loop (the per-field closures are in
``_pbdectables``).

Decoding a message walks its bytes, looks each tag up in the message's table and calls the closure,
which checks bounds, stores the value in the dict form and returns the next position. Every bound is
checked against the end of the enclosing message; the caller of ``decode_message`` turns stray
``IndexError``/``UnicodeDecodeError``/``struct.error`` into ``OtlpDecodeError``.

The dict form is canonical: proto3 defaults of fields without presence are left out, and so are empty
repeated fields. A field seen twice follows protobuf's merge rules (last scalar wins, repeated fields
append, singular messages merge, a oneof member clears its siblings).
"""

from __future__ import annotations

from zerolag.otlp import OtlpDecodeError

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    Decoder = Callable[[dict[str, Any], bytes, int, int, int], int]
    Table = dict[int, Decoder]

MAX_DEPTH = 64
_MASK64 = (1 << 64) - 1
_FIXED_SIZE = {1: 8, 5: 4}


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Read a varint at ``pos``; return (value, next position). Values wrap to 64 bits."""
    result = 0
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise OtlpDecodeError("varint longer than 10 bytes")


def read_length(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """Read a length prefix at ``pos``; return (payload start, payload end) checked against ``end``."""
    size = data[pos]
    if size < 0x80:
        pos += 1
    else:
        size, pos = read_varint(data, pos)
    stop = pos + size
    if stop > end:
        raise OtlpDecodeError("length-delimited field runs past the end of its message")
    return pos, stop


def skip_field(data: bytes, pos: int, end: int, tag: int, depth: int) -> int:
    """Skip the value of an unknown field with ``tag``; return the next position."""
    wire_type = tag & 7
    if wire_type == 0:
        return read_varint(data, pos)[1]
    if wire_type == 2:
        return read_length(data, pos, end)[1]
    if wire_type in _FIXED_SIZE:
        pos += _FIXED_SIZE[wire_type]
        if pos > end:
            raise OtlpDecodeError("fixed-size field runs past the end of its message")
        return pos
    if wire_type == 3:
        return _skip_group(data, pos, end, tag >> 3, depth)
    raise OtlpDecodeError(f"invalid wire type {wire_type}")


def _skip_group(data: bytes, pos: int, end: int, number: int, depth: int) -> int:
    if depth >= MAX_DEPTH:
        raise OtlpDecodeError("groups nested too deep")
    while pos < end:
        tag, pos = read_varint(data, pos)
        if tag >> 3 == 0:
            raise OtlpDecodeError("field number 0")
        if tag & 7 == 4:
            if tag >> 3 != number:
                raise OtlpDecodeError("mismatched end group")
            return pos
        pos = skip_field(data, pos, end, tag, depth + 1)
    raise OtlpDecodeError("unterminated group")


def decode_message(
    table: Table, data: bytes, pos: int, end: int, depth: int, *, msg: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Decode ``data[pos:end]`` into ``msg`` (merging into it when given) with a compiled table."""
    if depth > MAX_DEPTH:
        raise OtlpDecodeError("messages nested too deep")
    if msg is None:
        msg = {}
    while pos < end:
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = read_varint(data, pos)
        dec = table.get(tag)
        if dec is not None:
            pos = dec(msg, data, pos, end, depth)
        elif tag < 8 or -(tag >> 3) in table:
            raise OtlpDecodeError(f"wrong wire type or field number 0 in tag {tag}")
        else:
            pos = skip_field(data, pos, end, tag, depth)
    if pos != end:
        raise OtlpDecodeError("field runs past the end of its message")
    return msg
