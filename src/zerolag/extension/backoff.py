"""Retry timing: exponential backoff with full jitter, and ``Retry-After``. Pure: the RNG is passed in."""

from __future__ import annotations

import random
from typing import Final

RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504})


def retryable(status: int) -> bool:
    """Is an HTTP status worth a retry (the OTLP spec's list: 429, 502, 503, 504, plus 408 and 500)?"""
    return status in RETRYABLE_STATUS or 500 <= status < 600


class Backoff:
    """Delay before retry ``attempt`` (1-based): uniform in ``[base/2, min(cap, base * 2**(attempt-1))]``."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self._rng = rng

    def delay(self, attempt: int, retry_after_s: float | None = None) -> float:
        ceiling = min(self.cap_s, self.base_s * (2 ** min(max(attempt, 1) - 1, 30)))
        jittered = self._rng.uniform(min(self.base_s / 2, ceiling), ceiling)
        if retry_after_s is not None:
            # The server knows best, but never wait longer than the cap.
            return min(self.cap_s, max(jittered, retry_after_s))
        return jittered


def parse_retry_after(value: str | None, now_epoch_s: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), None if
    absent/invalid."""
    if not value:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():  # not str.isdigit alone: '²' is a digit to it, not to int()
        return float(int(text))
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    try:
        return max(0.0, when.timestamp() - now_epoch_s)
    except (OverflowError, ValueError, OSError):
        return None
