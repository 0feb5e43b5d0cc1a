"""Trace context on the wire: W3C ``traceparent``, X-Ray ``X-Amzn-Trace-Id``, ids and head sampling.

Pure functions over ints and strings. Trace ids are 128-bit and span ids 64-bit ``int`` internally (0 means
"none"); they become hex or bytes only when they leave the process.
"""

from __future__ import annotations

import os
from _random import Random  # the C generator: `random` itself would import hashlib, math, bisect...

_MASK64 = (1 << 64) - 1
_getrandbits = Random(int.from_bytes(os.urandom(32), "big")).getrandbits  # seeded once per process


def new_span_id() -> int:
    """A random, never-zero 64-bit span id (Mersenne Twister seeded from urandom; no syscall per id)."""
    return _getrandbits(64) or 1


def new_trace_id() -> int:
    """A random-looking 128-bit trace id from the same generator (no syscall on the invocation's path)."""
    return _getrandbits(128) or 1


def format_traceparent(trace_id: int, span_id: int, sampled: bool) -> str:
    """``00-<32 hex>-<16 hex>-<01|00>``."""
    return f"00-{trace_id:032x}-{span_id:016x}-{'01' if sampled else '00'}"


def parse_traceparent(value: object) -> tuple[int, int, bool] | None:
    """(trace id, parent span id, sampled) from a ``traceparent`` value, or None when it is not valid."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) < 4 or len(parts[0]) != 2 or parts[0] == "ff":
        return None
    version, trace_hex, span_hex, flags = parts[0], parts[1], parts[2], parts[3]
    if (
        len(trace_hex) != 32
        or len(span_hex) != 16
        or len(flags) != 2
        or (version == "00" and len(parts) != 4)
    ):
        return None
    try:
        trace_id, span_id, flag_bits = int(trace_hex, 16), int(span_hex, 16), int(flags, 16)
        int(version, 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id, bool(flag_bits & 1)


def parse_xray(value: object) -> tuple[int, int, bool | None] | None:
    """(trace id, parent id, sampled or None if undecided) from ``Root=1-x-y;Parent=z;Sampled=1``.

    Plain string searches rather than a split into a dict: this runs at the start of every invocation."""
    if not isinstance(value, str):
        return None
    i = value.find("Root=1-")
    if i < 0:
        return None
    root = value[i + 7 : i + 40]
    if len(root) != 33 or root[8] != "-" or (len(value) > i + 40 and value[i + 40] != ";"):
        return None
    j = value.find("Parent=")
    parent_hex = value[j + 7 : j + 23] if j >= 0 else "0"
    try:
        trace_id = int(root[:8] + root[9:], 16)
        parent = int(parent_hex, 16)
    except ValueError:
        return None
    k = value.find("Sampled=")
    flag = value[k + 8 : k + 9] if k >= 0 else ""
    sampled = True if flag == "1" else False if flag == "0" else None
    return trace_id, parent, sampled


def format_xray(trace_id: int, span_id: int, sampled: bool) -> str:
    """The X-Ray header for a context (the trace id's first 8 hex digits become the X-Ray epoch part)."""
    hex_id = f"{trace_id:032x}"
    return f"Root=1-{hex_id[:8]}-{hex_id[8:]};Parent={span_id:016x};Sampled={'1' if sampled else '0'}"


def sample(trace_id: int, ratio: float) -> bool:
    """Head sampling by ratio, decided from the trace id so every process agrees on one trace."""
    if ratio >= 1.0:
        return True
    if ratio <= 0.0:
        return False
    return (trace_id & _MASK64) < int(ratio * (1 << 64))
