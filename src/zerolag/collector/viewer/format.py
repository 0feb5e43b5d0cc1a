"""How the viewer writes values: times, numbers, money, rates, statuses, attribute maps. Pure; escapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from html import escape
from typing import Any


def clock(ns: int | None) -> str:
    """Nanoseconds since the epoch as a UTC time with milliseconds."""
    if not ns:
        return "—"
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def num(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.2f}{unit}".replace(".00", "")


def ms(value: float | None) -> str:
    """A duration: whole ms from 100 ms up, two decimals below."""
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.2f} ms"


def pct(rate: float | None) -> str:
    if rate is None:
        return "—"
    return "0%" if rate == 0 else (f"{100 * rate:.1f}%" if rate >= 0.001 else "<0.1%")


def usd(value: float | None) -> str:
    """Money: cents from a dollar up, more digits below (a function's day can cost a fraction of a cent)."""
    if value is None:
        return "—"
    if value == 0:
        return "$0"
    return f"${value:,.2f}" if value >= 1 else f"${value:.6f}".rstrip("0")


def badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status.upper())}</span>'


def kv(values: Mapping[str, Any]) -> str:
    return escape(json.dumps(values, indent=1, sort_keys=True, default=str)) if values else "{}"
