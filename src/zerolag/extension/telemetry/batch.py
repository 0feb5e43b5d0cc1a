"""Parse and validate one Telemetry API delivery: a JSON array of ``{"time","type","record"}`` (pure)."""

from __future__ import annotations

import json
import re
from calendar import timegm
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


class BatchError(ValueError):
    """A delivery body that is not a JSON array."""


@dataclass(frozen=True)
class Event:
    """One valid telemetry event."""

    time_ns: int
    type: str
    record: Any


def parse_time(value: object) -> int | None:
    """An ISO-8601 timestamp (``2022-10-12T00:00:15.064Z``) as Unix nanoseconds; None if unparsable."""
    if not isinstance(value, str):
        return None
    if len(value) == 24 and value[-1] == "Z" and value[19] == ".":  # the platform's own form: C-speed path
        try:
            stamp = datetime.fromisoformat(value[:23]).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        return (stamp - _EPOCH) // _MICROSECOND * 1000
    m = _TIME.fullmatch(value.strip())
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    try:
        seconds = timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    frac = (m.group(7) or "").ljust(9, "0")
    ns = seconds * 1_000_000_000 + int(frac)
    zone = m.group(8)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        ns -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 1_000_000_000
    return ns


def parse_batch(body: bytes) -> tuple[list[Event], int]:
    """The valid events of a delivery and the number of invalid items. Raises :class:`BatchError`."""
    try:
        items = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BatchError(f"not JSON: {exc}") from exc
    if not isinstance(items, list):
        raise BatchError("not a JSON array")
    events: list[Event] = []
    invalid = 0
    for item in items:
        event = _event(item)
        if event is None:
            invalid += 1
        else:
            events.append(event)
    return events, invalid


def _event(item: object) -> Event | None:
    if not isinstance(item, dict):
        return None
    kind = item.get("type")
    time_ns = parse_time(item.get("time"))
    if not isinstance(kind, str) or time_ns is None or "record" not in item:
        return None
    return Event(time_ns, kind, item["record"])
