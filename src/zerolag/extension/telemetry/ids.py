"""Trace context parsing (X-Ray and W3C) and deterministic OTLP ids.

Ids derived here are stable for a given seed, so a re-delivered telemetry batch or a retried Thundra POST
yields the same span ids, and a parent link computed in two places agrees.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX16 = re.compile(r"[0-9a-f]{16}")
_XRAY_ROOT = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True)
class TraceContext:
    """A trace id (32 hex) with the caller's span id (16 hex, or "" when unknown)."""

    trace_id: str
    parent_span_id: str = ""
    sampled: bool = True


def parse_trace_header(value: object) -> TraceContext | None:
    """Parse an ``X-Amzn-Trace-Id`` (``Root=1-…;Parent=…;Sampled=1``) or a W3C ``traceparent`` value."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.count("-") == 3 and ";" not in text and "=" not in text:
        return _parse_traceparent(text)
    return _parse_xray(text)


def _parse_traceparent(text: str) -> TraceContext | None:
    parts = text.lower().split("-")
    if len(parts) != 4 or not _HEX32.fullmatch(parts[1]) or parts[1] == _ZERO_TRACE:
        return None
    parent = parts[2] if _HEX16.fullmatch(parts[2]) and parts[2] != _ZERO_SPAN else ""
    return TraceContext(parts[1], parent, parts[3].endswith("1"))


def _parse_xray(text: str) -> TraceContext | None:
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, sep, val = part.strip().partition("=")
        if sep:
            fields[key.strip().lower()] = val.strip()
    root = _XRAY_ROOT.fullmatch(fields.get("root", ""))
    if root is None:
        return None
    trace_id = (root.group(1) + root.group(2)).lower()
    parent = fields.get("parent", "").lower()
    if not _HEX16.fullmatch(parent) or parent == _ZERO_SPAN:
        parent = ""
    return TraceContext(trace_id, parent, fields.get("sampled", "1") != "0")


def derived_id(seed: str, nbytes: int) -> str:
    """A non-zero hex id of ``nbytes`` bytes derived from ``seed`` (SHA-256, so collisions are negligible)."""
    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()[: nbytes * 2]
    if int(digest, 16) == 0:  # pragma: no cover - astronomically unlikely, but a zero id is invalid in OTLP
        return "0" * (nbytes * 2 - 1) + "1"
    return digest


def trace_id_for(seed: str) -> str:
    """A 16-byte trace id derived from ``seed``."""
    return derived_id(seed, 16)


def span_id_for(seed: str) -> str:
    """An 8-byte span id derived from ``seed``."""
    return derived_id(seed, 8)
