"""The trace views: a detail panel per span (shown when its waterfall bar or list entry is clicked, through
the URL fragment and CSS ``:target``, no script), and the whole-trace page across functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final
from urllib.parse import quote

from zerolag.collector import svg
from zerolag.collector.viewer import layout
from zerolag.collector.viewer.format import badge, clock, kv, ms

KINDS: Final = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS: Final = {0: "unset", 1: "ok", 2: "error"}


def trace_link(trace_id: str | None, text: str | None = None) -> str:
    if not trace_id:
        return "—"
    return f'<a class="trace-link" href="/traces/{quote(trace_id)}">{escape(text or trace_id)}</a>'


def swatch(color: str) -> str:
    """A colour square as SVG (a presentation attribute, so no inline style for the CSP to refuse)."""
    return (
        '<svg class="swatch" width="10" height="10" aria-hidden="true">'
        f'<rect width="10" height="10" fill="{color}"/></svg>'
    )


def _fn_tag(function: str | None, colors: Mapping[str, str]) -> str:
    name = function or "?"
    return f'<span class="fn-tag">{swatch(colors.get(name, "#5f6368"))} {escape(name)}</span>'


def span_panels(spans: Sequence[Mapping[str, Any]]) -> str:
    """The span list (indented like the waterfall) and one panel per span, each opened by ``#span-<id>``."""
    colors = svg.function_colors(spans)
    marked = len(colors) > 1
    items, panels = [], []
    for depth, span in svg.span_tree_order(spans):
        sid = escape(span["span_id"])
        failed = " ⚠" if span["status_code"] == 2 else ""
        fn = f" · {escape(span.get('function') or '?')}" if marked else ""
        items.append(
            f'<li class="d{min(depth, 5)}"><a href="#span-{sid}">{escape(span["name"])}</a>'
            f"{failed} <span class='muted'>{ms(span['duration_ms'])}{fn}</span></li>"
        )
        panels.append(_panel(span, colors))
    return (
        "<h3>Spans</h3><p class='note'>Click a bar or a name for the span's attributes, events, links, "
        f"resource and status.</p><ul class='span-list' id='span-list'>{''.join(items)}</ul>{''.join(panels)}"
    )


def _panel(span: Mapping[str, Any], colors: Mapping[str, str]) -> str:
    status = STATUS.get(span["status_code"], str(span["status_code"]))
    message = f": {escape(span['status_message'])}" if span.get("status_message") else ""
    events = "".join(
        f"<li>{clock(e['time_ns'])} <b>{escape(e['name'])}</b><pre>{kv(e['attributes'])}</pre></li>"
        for e in span.get("events", ())
    )
    links = "".join(
        f"<li>{trace_link(link['trace_id'])} span {escape(link['span_id'])}<pre>"
        f"{kv(link['attributes'])}</pre></li>"
        for link in span.get("links", ())
    )
    facts = (
        f"<dl><dt>Function</dt><dd>{_fn_tag(span.get('function'), colors)}</dd>"
        f"<dt>Kind</dt><dd>{KINDS.get(span['kind'], span['kind'])}</dd>"
        f"<dt>Status</dt><dd class='span-status{' bad' if span['status_code'] == 2 else ''}'>"
        f"{status}{message}</dd>"
        f"<dt>Start (UTC)</dt><dd>{clock(span['start_ns'])}</dd><dt>Duration</dt><dd>"
        f"{ms(span['duration_ms'])}</dd>"
        f"<dt>Request id</dt><dd>{escape(span.get('request_id') or '—')}</dd>"
        f"<dt>Trace id</dt><dd>{trace_link(span['trace_id'])}</dd><dt>Span id</dt><dd>"
        f"{escape(span['span_id'])}</dd>"
        f"<dt>Parent</dt><dd>{escape(span.get('parent_span_id') or '—')}</dd></dl>"
    )
    return (
        f'<section class="span-panel" id="span-{escape(span["span_id"])}"><h4>{escape(span["name"])}</h4>'
        f"{facts}"
        f"<section class='attributes'><b>Attributes</b><pre>{kv(span['attributes'])}</pre></section>"
        "<section class='events'><b>Events</b>"
        f"{f'<ul>{events}</ul>' if events else ' <span class=muted>none</span>'}</section>"
        "<section class='links'><b>Links</b>"
        f"{f'<ul>{links}</ul>' if links else ' <span class=muted>none</span>'}</section>"
        f"<section class='resource'><b>Resource</b><pre>{kv(span['resource'])}</pre></section></section>"
    )


def trace_page(trace: Mapping[str, Any]) -> str:
    """One trace across functions: its invocations, one waterfall with each function's part marked, and
    the traces it links to or is linked from."""
    colors = svg.function_colors(trace["spans"])
    legend = " ".join(
        f'<span class="fn-legend-item">{swatch(c)} {escape(f)}</span>' for f, c in colors.items()
    )
    invs = "".join(
        f"<tr><td>{escape(i['function'] or '—')}</td>"
        f"<td><a href='/invocations/{quote(i['request_id'])}'>{escape(i['request_id'])}</a></td>"
        f"<td>{clock(i['start_ns'])}</td><td class='num'>{ms(i['duration_ms'])}</td><td>"
        f"{badge(i['status'])}</td>"
        f"<td>{escape(i['trigger'] or '—')}</td></tr>"
        for i in trace["invocations"]
    )
    table = (
        "<table id='trace-invocations'><tr><th>Function</th><th>Request id</th><th>Start (UTC)</th>"
        f"<th class='num'>Duration</th><th>Status</th><th>Trigger</th></tr>{invs}</table>"
    )
    linked = "".join(
        f"<li>{label} {trace_link(t)}</li>"
        for label, ids in (("links to", trace["linked_to"]), ("linked from", trace["linked_from"]))
        for t in ids
    )
    note = "<p class='note'>Only the first 5,000 spans are shown.</p>" if trace["truncated"] else ""
    body = (
        f"<h2>Trace {escape(trace['trace_id'])}</h2>"
        f"<p id='trace-functions'>{len(colors)} function(s): {legend}</p>{table}<h3>Waterfall</h3>"
        f"{svg.waterfall(trace['spans'])}{note}{span_panels(trace['spans'])}"
        + (f"<h3>Linked traces</h3><ul id='linked-traces'>{linked}</ul>" if linked else "")
    )
    return layout.page(f"Trace {trace['trace_id']}", body)
