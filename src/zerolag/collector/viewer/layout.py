"""The frame of every viewer page: navigation, the search box, the time-range picker, the static assets.

No inline script or style: the stylesheet and ``live.js`` are static files (``/static/``), so a strict
Content-Security-Policy (``default-src 'self'``) serves the viewer unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from importlib import resources
from typing import Final
from urllib.parse import urlencode

from zerolag.collector.viewer.timerange import PRESETS, TimeRange, iso

NAV: Final = (
    ("/", "Overview"),
    ("/invocations", "Invocations"),
    ("/dependencies", "Dependencies"),
    ("/logs", "Logs"),
    ("/metrics", "Metrics"),
    ("/charts", "Charts"),
)
STATIC: Final = {"viewer.css": "text/css; charset=utf-8", "live.js": "text/javascript; charset=utf-8"}
LIVE_EVERY_S: Final = 5


def static_file(name: str) -> tuple[str, bytes] | None:
    """``(content type, bytes)`` of a static asset, or ``None`` for any other name."""
    if name not in STATIC:
        return None
    data = resources.files("zerolag.collector.viewer").joinpath("static").joinpath(name).read_bytes()
    return STATIC[name], data


def page(
    title: str,
    body: str,
    *,
    path: str = "",
    rng: TimeRange | None = None,
    params: Mapping[str, str] | None = None,
    live: bool = False,
    search: str = "",
    chrome: bool = True,
) -> str:
    """A whole HTML page; with ``rng``, the range picker keeps ``params`` (the page's other filters).
    Without ``chrome`` (the key form, before any key) the header has no navigation and no search."""
    keep = f"?{urlencode(rng.query())}" if rng is not None else ""
    nav = "".join(f'<a href="{href}{keep}"{_here(href == path)}>{label}</a>' for href, label in NAV)
    picker = range_picker(path, rng, params or {}) if rng is not None else ""
    live_attr = f' data-live-every="{LIVE_EVERY_S}"' if live else ""
    search_form = (
        '<form id="search" method="get" action="/search">'
        f'<input type="search" name="q" id="q" value="{escape(search)}" '
        'placeholder="request id, trace id, key=value or log text" aria-label="search">'
        + "".join(
            f'<input type="hidden" name="{k}" value="{escape(v)}">'
            for k, v in (rng.query() if rng else {}).items()
        )
        + '<button type="submit">Search</button></form>'
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} · zerolag</title>'
        '<link rel="stylesheet" href="/static/viewer.css"><script src="/static/live.js" defer></script>'
        f"</head><body{live_attr}><header><b>zerolag</b>{nav + search_form if chrome else ''}</header>"
        f"<main>{picker}{body}</main></body></html>"
    )


def _here(on: bool, name: str = "here") -> str:
    return f' class="{name}"' if on else ""


def range_picker(path: str, rng: TimeRange, params: Mapping[str, str]) -> str:
    """Preset ranges as links, a custom from/to form, and the range shown, all keeping ``params``."""
    keep = {k: v for k, v in params.items() if v and k not in ("since", "until", "before")}
    links = "".join(
        f'<a href="{escape(path)}?{escape(urlencode({**keep, "since": value}))}" data-range="{value}"'
        f"{_here(rng.since == value and not rng.until, 'on')}>{label}</a>"
        for value, label in PRESETS
    )
    hidden = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in keep.items())
    custom = (
        f'<form id="custom-range" method="get" action="{escape(path)}">{hidden}'
        f'<input name="since" id="since" size="22" value="{escape(iso(rng.since_ns)[:19])}" '
        'aria-label="from">'
        f'<input name="until" id="until" size="22" value="{escape(iso(rng.until_ns)[:19])}" aria-label="to">'
        '<button type="submit">Apply</button></form>'
    )
    shown = f"{iso(rng.since_ns)[:19].replace('T', ' ')} → {iso(rng.until_ns)[:19].replace('T', ' ')} UTC"
    status = '<span id="live-status"></span>' if rng.relative else ""
    return f'<div class="range" id="range">{links}{custom}<span class="span">{shown} {status}</span></div>'
