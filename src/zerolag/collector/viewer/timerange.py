"""The time range every page shows: ``?since=&until=``, each ISO-8601 or relative (``15m``, ``1h``, ``7d``).

A relative ``since`` counts back from ``until`` (default: now); a relative ``until`` counts back from now.
Pure: the clock is an argument. Bad input is a :class:`RangeError`, which the routes answer with 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Final
from urllib.parse import urlencode

PRESETS: Final = (("15m", "15 min"), ("1h", "1 h"), ("24h", "24 h"), ("7d", "7 d"))
DEFAULT_SINCE: Final = "24h"
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_RELATIVE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
MAX_SPAN_NS: Final = 400 * 86400 * 10**9  # a range longer than this is a typo, not a question


class RangeError(ValueError):
    """A ``since``/``until`` the viewer cannot read."""


@dataclass(frozen=True)
class TimeRange:
    since_ns: int
    until_ns: int
    since: str  # as given (or the default), for links that keep the range
    until: str  # "" means "now"

    @property
    def relative(self) -> bool:
        """True when the range follows "now" (live pages refresh only then)."""
        return not self.until and _RELATIVE.match(self.since) is not None

    def query(self) -> dict[str, str]:
        """The URL parameters that reproduce this range."""
        return {"since": self.since, **({"until": self.until} if self.until else {})}

    def qs(self, **extra: object) -> str:
        """``since=..&until=..`` plus ``extra`` (``None`` values dropped), URL-encoded."""
        values = {**self.query(), **{k: str(v) for k, v in extra.items() if v is not None and v != ""}}
        return urlencode(values)

    def as_dict(self) -> dict[str, str]:
        return {"since": iso(self.since_ns), "until": iso(self.until_ns)}


def _relative_ns(text: str) -> int | None:
    match = _RELATIVE.match(text)
    if match is None:
        return None
    unit = match.group(2).lower()[0]
    return int(float(match.group(1)) * _UNITS[unit] * 10**9)


def _absolute_ns(text: str, name: str) -> int:
    value = text.strip()
    if value.isdigit():  # epoch nanoseconds or seconds, as the JSON API reports them
        number = int(value)
        return number if number > 10**14 else number * 10**9
    if "T" in value:  # an unencoded "+01:00" in a URL arrives as " 01:00"
        value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise RangeError(f"{name}={text!r} is neither ISO-8601 nor relative like 15m, 1h, 7d") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 10**6) * 1000


def parse(since: str | None, until: str | None, now_ns: int) -> TimeRange:
    """The range ``since``..``until``; missing ``since`` is the last 24 h, missing ``until`` is now."""
    since = (since or "").strip() or DEFAULT_SINCE
    until = (until or "").strip()
    if until:
        back = _relative_ns(until)
        until_ns = now_ns - back if back is not None else _absolute_ns(until, "until")
    else:
        until_ns = now_ns
    back = _relative_ns(since)
    since_ns = until_ns - back if back is not None else _absolute_ns(since, "since")
    if not (since_ns >= 0 and until_ns < 2**63):  # what the store's integer times can hold
        raise RangeError("the range must lie between 1970 and 2262")
    if since_ns >= until_ns:
        raise RangeError("since must be before until")
    if until_ns - since_ns > MAX_SPAN_NS:
        raise RangeError("the range may span at most 400 days")
    return TimeRange(since_ns, until_ns, since, until)


def iso(ns: int) -> str:
    """Nanoseconds since the epoch as ISO-8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).isoformat(timespec="milliseconds")
