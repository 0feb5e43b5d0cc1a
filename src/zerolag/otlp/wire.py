"""Fast structural work on protobuf export requests without decoding them.

- ``count_items(signal, data)``: the number of spans, metric data points or log records. It walks only
  the envelope (request -> resource -> scope -> items, and for metrics the metric and its data), checks
  every length and the wire type of every known field it meets there, skips everything else, and raises
  ``OtlpDecodeError`` on malformed framing. The items themselves are not parsed.
- ``split(signal, data, max_bytes)``: cut a request into valid requests of at most ``max_bytes`` each,
  at resource boundaries, going down to scope and item boundaries (repeating the resource and scope
  headers) for a resource too large on its own. An item larger than the limit travels alone.

Requests of one signal concatenate into one valid request, so pieces are joined with ``b"".join``.
"""

from __future__ import annotations

import struct

from zerolag.otlp import OtlpDecodeError, Signal
from zerolag.otlp import _schema as s
from zerolag.otlp._pbdec import read_length, read_varint, skip_field
from zerolag.otlp._pbenc import varint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Final

__all__ = ["count_items", "split"]

_COUNT: Final = ""
# message -> field number -> the message to walk into, or _COUNT to count the field's occurrences.
_DESCEND: Final[dict[str, dict[int, str]]] = {
    "ExportTraceServiceRequest": {1: "ResourceSpans"},
    "ResourceSpans": {2: "ScopeSpans"},
    "ScopeSpans": {2: _COUNT},
    "ExportLogsServiceRequest": {1: "ResourceLogs"},
    "ResourceLogs": {2: "ScopeLogs"},
    "ScopeLogs": {2: _COUNT},
    "ExportMetricsServiceRequest": {1: "ResourceMetrics"},
    "ResourceMetrics": {2: "ScopeMetrics"},
    "ScopeMetrics": {2: "Metric"},
    "Metric": {5: "Gauge", 7: "Sum", 9: "Histogram", 10: "ExponentialHistogram", 11: "Summary"},
    "Gauge": {1: _COUNT},
    "Sum": {1: _COUNT},
    "Histogram": {1: _COUNT},
    "ExponentialHistogram": {1: _COUNT},
    "Summary": {1: _COUNT},
}
# message -> field number -> expected wire type, for the messages walked.
_WIRE_TYPES: Final[dict[str, dict[int, int]]] = {
    name: {
        num: 2 if kind in s.MESSAGES or flags & s.REP else s.WIRE_TYPE[kind] for num, _, kind, flags in fields
    }
    for name, fields in s.MESSAGES.items()
    if name in _DESCEND
}
_FAILURES = (IndexError, struct.error, RecursionError)
# Split levels: the repeated field to cut at, from the request down to the items.
_SPLIT_LEVELS: Final = (1, 2, 2)
_OVERHEAD: Final = 11  # a tag and a length prefix, at most


def _request_message(signal: Signal) -> str:
    message = s.REQUEST_MESSAGE.get(signal)
    if message is None:
        raise ValueError(f"unknown OTLP signal {signal!r}")
    return message


def count_items(signal: Signal, data: bytes | bytearray | memoryview) -> int:
    """Count the spans, metric data points or log records of a protobuf request, checking its framing."""
    message = _request_message(signal)
    raw = data if type(data) is bytes else bytes(data)
    try:
        return _count(message, raw, 0, len(raw))
    except OtlpDecodeError:
        raise
    except _FAILURES as exc:
        raise OtlpDecodeError(f"malformed {message}: {exc}") from exc


def _count(message: str, data: bytes, pos: int, end: int) -> int:
    descend = _DESCEND[message]
    wire_types = _WIRE_TYPES[message]
    total = 0
    while pos < end:
        tag = data[pos]
        if tag < 0x80:
            pos += 1
        else:
            tag, pos = read_varint(data, pos)
        number = tag >> 3
        expected = wire_types.get(number)
        if number == 0 or (expected is not None and tag & 7 != expected):
            raise OtlpDecodeError(f"{message}: bad tag {tag}")
        child = descend.get(number)
        if child is None:
            pos = skip_field(data, pos, end, tag, 0)
            continue
        start, pos = read_length(data, pos, end)
        total += 1 if child == _COUNT else _count(child, data, start, pos)
    if pos != end:
        raise OtlpDecodeError(f"{message}: field runs past the end of its message")
    return total


def split(signal: Signal, data: bytes | bytearray | memoryview, max_bytes: int) -> list[bytes]:
    """Split a protobuf request into requests of at most ``max_bytes`` (empty request: no pieces)."""
    message = _request_message(signal)
    raw = data if type(data) is bytes else bytes(data)
    if not raw:
        return []
    try:
        count_items(signal, raw)  # validates the framing of every level that is cut
        return _split_body(raw, 0, len(raw), _SPLIT_LEVELS, max_bytes)
    except OtlpDecodeError:
        raise
    except _FAILURES as exc:
        raise OtlpDecodeError(f"malformed {message}: {exc}") from exc


def _fields(data: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """The fields of a message as (number, start of tag, start of value, end of field)."""
    out = []
    while pos < end:
        field_start = pos
        tag, pos = read_varint(data, pos)
        value_start = pos
        pos = skip_field(data, pos, end, tag, 0)
        out.append((tag >> 3, field_start, value_start, pos))
    return out


def _split_body(data: bytes, start: int, stop: int, levels: tuple[int, ...], budget: int) -> list[bytes]:
    """Cut a message body at its ``levels[0]`` children; other fields are repeated in every piece."""
    if stop - start <= budget or not levels:
        return [data[start:stop]]
    head = b""
    children: list[bytes] = []
    for number, field_start, value_start, field_end in _fields(data, start, stop):
        if number != levels[0]:
            head += data[field_start:field_end]
        elif field_end - field_start <= budget or len(levels) == 1:
            children.append(data[field_start:field_end])
        else:
            tag = data[field_start:value_start]
            body_start, body_end = read_length(data, value_start, field_end)
            for part in _split_body(data, body_start, body_end, levels[1:], budget - len(head) - _OVERHEAD):
                children.append(tag + varint(len(part)) + part)
    return [head + b"".join(group) for group in _pack(children, budget - len(head))]


def _pack(children: list[bytes], budget: int) -> list[list[bytes]]:
    """Group consecutive children greedily so that each group's size stays within ``budget``."""
    groups: list[list[bytes]] = []
    size = budget + 1
    for child in children:
        if size + len(child) > budget:
            groups.append([])
            size = 0
        groups[-1].append(child)
        size += len(child)
    return groups or [[]]
