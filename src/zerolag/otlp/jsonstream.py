"""OTLP/JSON to protobuf in bounded memory: ``to_protobuf(signal, data, scan_cost) -> (bytes, items)``.

``json.loads`` of a whole request costs 10 to 30 times its size in Python objects (a 14 MB request took a
350 MB process). Here a value is parsed whole only when the estimated cost of doing so (its text, the
``str`` made of it, and the objects ``json`` builds, counted from its braces, quotes and commas) is at most
``scan_cost``. A larger object of a known message (the request itself, a resource, a scope, a span...) is
walked field by field instead, by the same rule, down to the values that fit; each parsed value is
validated and normalized exactly as ``jsoncodec.loads`` does (same errors, same nesting limit) and encoded at
once, so what stays in memory is the body, the protobuf output and one value of at most ``scan_cost``.
Protobuf fields concatenate, so a message's bytes are the bytes of its fields, encoded one at a time.

A single scalar value whose parse alone would cost more than ``scan_cost`` (a string of several megabytes)
raises ``TooLarge``; anything malformed raises ``OtlpDecodeError``. The parsing itself is the standard
library's C scanner (``json.scanner``), on windows of the body that grow until the value fits.
"""

from __future__ import annotations

import json
import re

from zerolag.otlp import OtlpDecodeError, Signal, jsoncodec, protobuf
from zerolag.otlp import _schema as s
from zerolag.otlp._pbenc import varint

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Any, Final

__all__ = ["TooLarge", "estimate", "to_protobuf"]

FIRST_WINDOW: Final = 64 * 1024
_WS = re.compile(rb"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_SCAN = _DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner: (value, end) at an index
_ENCODE_ERRORS = (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError)


class TooLarge(OtlpDecodeError):
    """One JSON value would need more memory to parse than allowed."""


def estimate(text: bytes) -> int:
    """An upper bound of the memory parsing ``text`` costs: the window copy, its ``str`` (4 bytes a character
    unless ASCII), and per structural character the objects ``json`` and the normalization build."""
    size = len(text)
    base = size * (2 if text.isascii() else 5)
    return (
        base
        + 600 * text.count(b"{")  # a dict (~230 bytes), its normalized copy, the encoded pieces
        + 200 * text.count(b"[")
        + 70 * text.count(b'"')  # half a string object and its copy
        + 80 * text.count(b",")  # a list slot, a number object, their copies
    )


def to_protobuf(signal: Signal, data: bytes, scan_cost: int) -> tuple[bytes, int]:
    """Transcode an OTLP/JSON request of ``signal`` to protobuf; returns (bytes, item count)."""
    message = s.REQUEST_MESSAGE.get(signal)
    if message is None:
        raise ValueError(f"unknown OTLP signal {signal!r}")
    walker = _Walker(data, scan_cost)
    try:
        pos = walker.ws(0)
        pieces, pos = walker.message(message, pos, 0)
    except RecursionError as exc:
        raise OtlpDecodeError("JSON nested too deep") from exc
    if walker.ws(pos) != len(data):
        raise OtlpDecodeError("extra data after the JSON value")
    out = b"".join(pieces)
    del pieces
    from zerolag.otlp import wire

    return out, wire.count_items(signal, out)


class _Walker:
    def __init__(self, data: bytes, scan_cost: int) -> None:
        self.data = data
        self.scan_cost = max(scan_cost, 4 * FIRST_WINDOW)
        self._hints: dict[str, int] = {}

    def ws(self, pos: int) -> int:
        match = _WS.match(self.data, pos)
        return match.end() if match else pos

    def expect(self, pos: int, char: bytes) -> int:
        pos = self.ws(pos)
        if self.data[pos : pos + 1] != char:
            raise OtlpDecodeError(f"invalid JSON: expected {char.decode()} at byte {pos}")
        return pos + 1

    def scan(self, pos: int, hint: int = FIRST_WINDOW) -> tuple[Any, int] | None:
        """The JSON value at ``pos`` and the position after it; None when parsing it costs too much. The
        first window is ``hint`` bytes (what a value of this kind took last time, doubled)."""
        data = self.data
        size = max(hint, 64)
        grown = False
        while True:
            stop = min(len(data), pos + size)
            window = data[pos:stop]
            if estimate(window) > self.scan_cost:
                if grown or size <= 64:
                    return None
                size //= 4  # the first guess was too generous: the value may still be small
                continue
            truncated = stop < len(data)
            try:
                text = window.decode("utf-8")
            except UnicodeDecodeError as exc:
                if not truncated or exc.start < len(window) - 3:
                    raise OtlpDecodeError("invalid JSON: not UTF-8") from None
                text = window[: exc.start].decode("utf-8")  # a character cut by the window's end
            try:
                value, end = _SCAN(text, 0)
            except (StopIteration, ValueError):
                value, end = None, -1
            if end >= 0 and not (truncated and end >= len(text)):
                if window.isascii():
                    return value, pos + end
                return value, pos + len(text[:end].encode("utf-8"))
            if not truncated:
                raise OtlpDecodeError(f"invalid JSON at byte {pos}")
            size *= 2
            grown = True

    def message(self, message: str, pos: int, depth: int) -> tuple[list[bytes], int]:
        """The encoded fields of the object at ``pos`` (a ``message``), parsed whole when it is cheap."""
        if depth > jsoncodec.MAX_DEPTH:
            raise OtlpDecodeError("messages nested too deep")
        if self.data[pos : pos + 1] != b"{":
            raise OtlpDecodeError(f"{message} must be a JSON object")
        scanned = self.scan(pos, self._hints.get(message, FIRST_WINDOW))
        if scanned is not None:
            value, end = scanned
            self._hints[message] = min(2 * (end - pos), FIRST_WINDOW)
            loaded = jsoncodec._load_message(message, value, depth)
            del value
            return [_encode(message, loaded)], end
        return self._fields(message, pos + 1, depth)

    def _fields(self, message: str, pos: int, depth: int) -> tuple[list[bytes], int]:
        fields = jsoncodec._FIELDS[message]
        oneof = s.ONEOFS.get(message, ())
        seen: set[str] = set()
        pieces: list[bytes] = []
        pos = self.ws(pos)
        if self.data[pos : pos + 1] == b"}":
            return pieces, pos + 1
        while True:
            pos = self.ws(pos)
            key_scan = self.scan(pos, 64) if self.data[pos : pos + 1] == b'"' else None
            if key_scan is None or not isinstance(key_scan[0], str):
                raise OtlpDecodeError(f"invalid JSON: expected a key at byte {pos}")
            key, pos = key_scan
            pos = self.ws(self.expect(pos, b":"))
            field = fields.get(key)
            if field is None or self.data[pos : pos + 4] == b"null":
                pos = self._skip(pos)
            else:
                if field[1] in oneof:
                    seen.add(field[1])
                pos = self._field(message, field, pos, depth, pieces)
            pos = self.ws(pos)
            char = self.data[pos : pos + 1]
            if char == b"}":
                break
            if char != b",":
                raise OtlpDecodeError(f"invalid JSON: expected , or }} at byte {pos}")
            pos += 1
        if len(seen) > 1:
            raise OtlpDecodeError(f"{message}: more than one of {', '.join(oneof)}")
        return pieces, pos + 1

    def _field(self, message: str, field: s.Field, pos: int, depth: int, out: list[bytes]) -> int:
        number, name, kind, flags = field
        scanned = self.scan(pos, self._hints.get(name, 256))
        if scanned is not None:
            value, end = scanned
            self._hints[name] = min(2 * (end - pos), FIRST_WINDOW)
            loaded = jsoncodec._load_message(message, {name: value}, depth).get(name)
            del value
            if loaded is not None:
                out.append(_encode(message, {name: loaded}))
            return end
        if kind not in jsoncodec._FIELDS:
            raise TooLarge(f"{message}.{name}: one value too large to decode")
        tag = varint(number << 3 | 2)
        if not flags & s.REP:
            return self._sub_message(kind, pos, depth, tag, out)
        pos = self.expect(pos, b"[")
        pos = self.ws(pos)
        if self.data[pos : pos + 1] == b"]":
            return pos + 1
        while True:
            pos = self.ws(pos)
            pos = self.ws(self._sub_message(kind, pos, depth, tag, out))
            char = self.data[pos : pos + 1]
            if char == b"]":
                return pos + 1
            if char != b",":
                raise OtlpDecodeError(f"invalid JSON: expected , or ] at byte {pos}")
            pos += 1

    def _sub_message(self, kind: str, pos: int, depth: int, tag: bytes, out: list[bytes]) -> int:
        pieces, end = self.message(kind, pos, depth + 1)
        out += (tag, varint(sum(len(p) for p in pieces)))
        out += pieces
        return end

    def _skip(self, pos: int) -> int:
        """Skip any JSON value (an unknown key's), in bounded memory."""
        scanned = self.scan(pos)
        if scanned is not None:
            return scanned[1]
        opener = self.data[pos : pos + 1]
        if opener not in (b"{", b"["):
            raise TooLarge("one unknown value too large to decode")
        closer = b"}" if opener == b"{" else b"]"
        pos = self.ws(pos + 1)
        if self.data[pos : pos + 1] == closer:
            return pos + 1
        while True:
            pos = self.ws(pos)
            if opener == b"{":
                key = self.scan(pos, 64)
                if key is None or not isinstance(key[0], str):
                    raise OtlpDecodeError(f"invalid JSON: expected a key at byte {pos}")
                pos = self.ws(self.expect(key[1], b":"))
            pos = self.ws(self._skip(pos))
            char = self.data[pos : pos + 1]
            if char == closer:
                return pos + 1
            if char != b",":
                raise OtlpDecodeError(f"invalid JSON at byte {pos}")
            pos += 1


def _encode(message: str, value: dict[str, Any]) -> bytes:
    try:
        return protobuf.encode_message(message, value)
    except _ENCODE_ERRORS as exc:  # e.g. a lone surrogate from a \\ud800 escape: not UTF-8
        raise OtlpDecodeError(f"{message}: cannot be encoded ({type(exc).__name__})") from exc
