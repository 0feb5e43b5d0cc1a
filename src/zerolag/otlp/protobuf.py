"""OTLP protobuf wire codec, standard library only.

``encode(signal, request) -> bytes`` and ``decode(signal, data) -> request`` convert between the dict form
described in ``zerolag.otlp`` and the binary ``Export{Trace,Metrics,Logs}ServiceRequest`` messages of
OTLP 1.x. The schema lives in ``zerolag.otlp._schema``.

- Encode omits proto3 defaults (except fields with presence: oneof members, ``optional`` fields and
  singular messages), ignores unknown keys and ``None`` values, and raises ``ValueError`` or
  ``TypeError`` on values of the wrong type or range (e.g. an id of the wrong length).
- Decode skips unknown fields, returns the canonical dict form (no defaults, no empty lists) and raises
  ``OtlpDecodeError`` on any malformed input, never anything else.
"""

from __future__ import annotations

import struct

from zerolag.otlp import OtlpDecodeError, Signal
from zerolag.otlp._pbdec import decode_message as _decode_message
from zerolag.otlp._pbdectables import tables as _decoder_tables
from zerolag.otlp._pbenc import encode_message as _encode_message
from zerolag.otlp._pbfast import TABLES as _ENC
from zerolag.otlp._schema import REQUEST_MESSAGE

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Any

__all__ = ["decode", "decode_message", "encode", "encode_message"]

# What a malformed payload can make the decoder trip on; all become OtlpDecodeError.
_DECODE_FAILURES = (IndexError, ValueError, struct.error, RecursionError, OverflowError)


def _message_name(signal: Signal) -> str:
    try:
        return REQUEST_MESSAGE[signal]
    except KeyError:
        raise ValueError(f"unknown OTLP signal {signal!r}") from None


def encode(signal: Signal, request: dict[str, Any]) -> bytes:
    """Encode an export request of ``signal`` ("traces", "metrics" or "logs") to protobuf bytes."""
    return encode_message(_message_name(signal), request)


def decode(signal: Signal, data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode protobuf bytes of an export request of ``signal`` into the dict form."""
    return decode_message(_message_name(signal), data)


def encode_message(message: str, value: dict[str, Any]) -> bytes:
    """Encode any OTLP message by its proto name (e.g. ``"Span"``, ``"AnyValue"``)."""
    try:
        return _encode_message(_ENC[message], value)
    except struct.error as exc:
        raise ValueError(f"cannot encode {message}: {exc}") from exc


def decode_message(message: str, data: bytes | bytearray | memoryview) -> dict[str, Any]:
    """Decode any OTLP message by its proto name; raises ``OtlpDecodeError`` on malformed input."""
    table = _decoder_tables()[message]
    raw = data if type(data) is bytes else bytes(data)
    try:
        return _decode_message(table, raw, 0, len(raw), 0)
    except OtlpDecodeError:
        raise
    except _DECODE_FAILURES as exc:
        raise OtlpDecodeError(f"malformed {message}: {exc}") from exc
