"""The `google.rpc.Status` body of an OTLP/HTTP failure response in protobuf (code = 1, message = 2).

Shared by every OTLP receiver (the extension's and the collector's). Imported only when a request fails.
"""

from __future__ import annotations

from zerolag.otlp._pbenc import varint


def protobuf(code: int, message: str) -> bytes:
    """``Status{code, message}`` as protobuf bytes."""
    text = message.encode()
    return b"\x08" + varint(code) + b"\x12" + varint(len(text)) + text
