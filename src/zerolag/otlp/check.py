"""Check a protobuf export request as fully as ``protobuf.decode`` does, without building it.

``check(signal, data) -> int`` walks every message the schema knows, down to the leaves, and raises
``OtlpDecodeError`` on exactly what the decoder refuses: malformed framing, a wrong wire type for a known
field, a string that is not UTF-8, a trace id that is not 16 bytes or a span id that is not 8 (empty is
allowed), a packed field of the wrong length, messages nested deeper than ``MAX_DEPTH`` (64, the decoder's
limit; each level of a nested attribute value costs three: ``AnyValue`` -> ``KeyValueList`` -> ``KeyValue``).
It returns the number of spans, metric data points or log records.

It is what the extension runs at its door (docs/extension.md): a request a standard OTLP backend would refuse
is answered 400 there, to the SDK that sent it, instead of joining a batch with good requests and taking them
down with it. Memory: nothing is built, so checking costs no more than the body itself.
"""

from __future__ import annotations

import struct

from zerolag.otlp import OtlpDecodeError, Signal
from zerolag.otlp import _schema as s
from zerolag.otlp._pbdec import MAX_DEPTH, read_length, read_varint, skip_field

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Final

__all__ = ["MAX_DEPTH", "check"]

# What a field holds, for the walk: a message name, or one of these.
_STR: Final = "s"  # UTF-8 string
_ID16: Final = "i16"
_ID8: Final = "i8"
_SKIP: Final = ""  # any other scalar: only its framing matters
_FIXED_SIZE: Final = {1: 8, 5: 4}
# (message, field number) whose every occurrence is one item.
_ITEMS: Final = frozenset(
    {
        ("ScopeSpans", 2),
        ("ScopeLogs", 2),
        ("Gauge", 1),
        ("Sum", 1),
        ("Histogram", 1),
        ("ExponentialHistogram", 1),
        ("Summary", 1),
    }
)
_FAILURES = (IndexError, struct.error, RecursionError, UnicodeDecodeError)


def _leaf(kind: str) -> str:
    if kind == s.STRING:
        return _STR
    if kind == s.ID16:
        return _ID16
    if kind == s.ID8:
        return _ID8
    return _SKIP


def _build() -> dict[str, dict[int, tuple[int, str, bool, int]]]:
    """message -> tag -> (field number, what it holds, counts as an item, fixed element size if packed)."""
    tables: dict[str, dict[int, tuple[int, str, bool, int]]] = {}
    for name, fields in s.MESSAGES.items():
        table: dict[int, tuple[int, str, bool, int]] = {}
        for number, _json, kind, flags in fields:
            item = (name, number) in _ITEMS
            if kind in s.MESSAGES:
                table[number << 3 | 2] = (number, kind, item, 0)
                continue
            wire = s.WIRE_TYPE[kind]
            table[number << 3 | wire] = (number, _leaf(kind), item, 0)
            if flags & s.REP and wire != 2:  # packed form of a repeated scalar
                table[number << 3 | 2] = (number, _SKIP, item, _FIXED_SIZE.get(wire, -1))
        tables[name] = table
    return tables


_TABLES: Final = _build()
_KNOWN: Final = {name: {tag >> 3 for tag in table} for name, table in _TABLES.items()}


def check(signal: Signal, data: bytes | bytearray | memoryview) -> int:
    """Validate a protobuf export request of ``signal`` completely; return its item count."""
    message = s.REQUEST_MESSAGE.get(signal)
    if message is None:
        raise ValueError(f"unknown OTLP signal {signal!r}")
    raw = data if type(data) is bytes else bytes(data)
    try:
        return _walk(message, raw, 0, len(raw), 0)
    except OtlpDecodeError:
        raise
    except _FAILURES as exc:
        raise OtlpDecodeError(f"malformed {message}: {type(exc).__name__}") from exc


def _plain_key_value(data: bytes, start: int, stop: int) -> bool:  # noqa: PLR0911 - one exit per layout
    """True when ``data[start:stop]`` is the common ``KeyValue`` (short key, one short string, int, bool or
    double value) and valid; False sends it to the full walk, which has the last word. The tags and one-byte
    lengths between key and value are ASCII, so one UTF-8 check of the whole covers both strings."""
    if stop - start < 5 or data[start] != 0x0A:
        return False
    key_end = start + 2 + data[start + 1]
    if data[start + 1] >= 0x80 or key_end + 3 > stop or data[key_end] != 0x12:
        return False
    size = data[key_end + 1]
    value = key_end + 2
    if size >= 0x80 or value + size != stop:
        return False
    tag = data[value]
    if tag == 0x0A:
        if data[value + 1] >= 0x80 or value + 2 + data[value + 1] != stop:
            return False
    elif tag in (0x10, 0x18):
        if (
            stop - value - 1 > 10
            or data[stop - 1] >= 0x80
            or any(b < 0x80 for b in data[value + 1 : stop - 1])
        ):
            return False
        stop = value  # the varint's bytes are not text
    elif tag != 0x21 or value + 9 != stop:
        return False
    else:
        stop = value  # a double's bytes are not text
    try:
        data[start:stop].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _check_leaf(message: str, holds: str, packed: int, data: bytes, start: int, stop: int) -> None:  # noqa: PLR0917
    """Check one length-delimited scalar field: a string, an id, or a packed repeated scalar."""
    if holds == _STR:
        if stop > start:
            data[start:stop].decode("utf-8")
    elif holds in (_ID16, _ID8):
        if stop > start and stop - start != (16 if holds == _ID16 else 8):
            raise OtlpDecodeError(f"{message}: id of {stop - start} bytes")
    elif packed > 0:
        if (stop - start) % packed:
            raise OtlpDecodeError("packed field length is not a multiple of its element size")
    elif packed < 0:
        while start < stop:
            start = read_varint(data, start)[1]
        if start != stop:
            raise OtlpDecodeError("packed varint runs past the end of its field")


def _walk(message: str, data: bytes, pos: int, end: int, depth: int) -> int:
    if depth > MAX_DEPTH:
        raise OtlpDecodeError("messages nested too deep")
    table = _TABLES[message]
    known = _KNOWN[message]
    total = 0
    while pos < end:
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = read_varint(data, pos)
        field = table.get(tag)
        if field is None:
            if tag < 8 or tag >> 3 in known:
                raise OtlpDecodeError(f"{message}: wrong wire type or field number 0 in tag {tag}")
            pos = skip_field(data, pos, end, tag, depth)
            continue
        _number, holds, item, packed = field
        if item:
            total += 1
        if tag & 7 != 2:
            pos = skip_field(data, pos, end, tag, depth)
            continue
        start, pos = read_length(data, pos, end)
        if holds == "KeyValue" and _plain_key_value(data, start, pos):
            continue
        if holds in _TABLES:
            total += _walk(holds, data, start, pos, depth + 1)
        else:
            _check_leaf(message, holds, packed, data, start, pos)
    if pos != end:
        raise OtlpDecodeError(f"{message}: field runs past the end of its message")
    return total
