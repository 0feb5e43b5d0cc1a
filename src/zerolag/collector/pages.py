"""The viewer's server-rendered pages: invocations, one invocation, charts, the key form. The pages of the
range views (overview, dependencies, logs, metrics, whole traces) live in ``zerolag.collector.viewer``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from zerolag.collector import svg
from zerolag.collector.queries import STATUSES, Filters
from zerolag.collector.series import Bucket
from zerolag.collector.viewer import layout as viewer_layout
from zerolag.collector.viewer.format import badge, clock, num
from zerolag.collector.viewer.timerange import TimeRange
from zerolag.collector.viewer.trace_page import span_panels, trace_link

__all__ = ["badge", "clock", "num"]


def layout(title: str, body: str, **chrome: Any) -> str:
    """A page in the viewer's frame (navigation, search, and the range picker when given a range)."""
    return viewer_layout.page(title, body, **chrome)


def _cold(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _options(values: Sequence[str], selected: str | None, any_label: str) -> str:
    opts = [f'<option value="">{any_label}</option>']
    opts += [
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>'
        for v in values
    ]
    return "".join(opts)


def invocations_page(  # noqa: PLR0917 (the page's parts, each named at the one call site)
    rows: Sequence[Mapping[str, Any]],
    functions: Sequence[str],
    filters: Filters,
    rng: TimeRange,
    search: str = "",
    note: str = "",
) -> str:
    """The invocations table over the range, with its filters, the search it answers, and paging."""
    cold = {None: "", True: "true", False: "false"}[filters.cold_start]
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in rng.query().items())
    form = (
        f'<form id="filters" method="get" action="/invocations">{hidden}'
        '<select name="function" id="f-function">'
        f"{_options(functions, filters.function, 'all functions')}</select>"
        f'<select name="status" id="f-status">{_options(STATUSES, filters.status, "any status")}</select>'
        '<select name="cold_start" id="f-cold">'
        f"{_options(('true', 'false'), cold, 'cold or warm')}</select>"
        f'<input type="search" name="q" id="f-q" value="{escape(search)}" size="32" '
        'placeholder="request id, trace id, key=value, log text">'
        '<button type="submit" id="f-apply">Filter</button></form>'
    )
    head = (
        "<tr><th>Function</th><th>Request id</th><th>Start (UTC)</th><th class='num'>Duration</th>"
        "<th class='num'>Billed</th><th>Cold start</th><th>Memory used / size</th><th>Status</th>"
        "<th>Trigger</th><th>Trace</th></tr>"
    )
    body = "".join(_invocation_row(r) for r in rows)
    if not rows:
        body = '<tr><td colspan="10" class="empty">No invocations match.</td></tr>'
    table = (
        f'<table id="invocations"><thead>{head}</thead>'
        f'<tbody id="invocation-rows" data-live>{body}</tbody></table>'
    )
    query = _filter_query(filters, search)
    note_html = f'<p class="note" id="search-note">{escape(note)}</p>' if note else ""
    return layout(
        "Invocations",
        f"<h2>Invocations</h2>{form}{note_html}{table}{_pager(rows, filters, rng, query)}",
        path="/invocations",
        rng=rng,
        params=query,
        live=rng.relative and filters.before_ns is None,
        search=search,
    )


def _filter_query(filters: Filters, search: str) -> dict[str, str]:
    query = {"function": filters.function or "", "status": filters.status or "", "q": search}
    if filters.cold_start is not None:
        query["cold_start"] = str(filters.cold_start).lower()
    if filters.limit != 100:
        query["limit"] = str(filters.limit)
    return {k: v for k, v in query.items() if v}


def _pager(rows: Sequence[Mapping[str, Any]], filters: Filters, rng: TimeRange, query: dict[str, str]) -> str:
    """Newest / older page links (keyset paging on the start time, so pages stay fast deep down)."""
    links = []
    if filters.before_ns is not None:
        links.append(f'<a id="newest" href="/invocations?{escape(rng.qs(**query))}">← Newest</a>')
    if len(rows) >= filters.limit:
        href = "/invocations?" + rng.qs(**query, before=rows[-1]["start_ns"])
        links.append(f'<a id="older" href="{escape(href)}">Older invocations →</a>')
    return f'<div class="pager">{"".join(links)}</div>' if links else ""


def _invocation_row(r: Mapping[str, Any]) -> str:
    link = f'<a href="/invocations/{quote(r["request_id"])}">{escape(r["request_id"])}</a>'
    memory = f"{num(r['memory_used_mb'])} / {num(r['memory_size_mb'])} MB"
    cls = ' class="failed"' if r["status"] != "ok" else ""
    return (
        f'<tr{cls} data-status="{escape(r["status"])}"><td class="fn">{escape(r["function"] or "—")}</td>'
        f"<td>{link}</td><td>{clock(r['start_ns'])}</td><td class='num'>{num(r['duration_ms'], ' ms')}</td>"
        f'<td class="num">{num(r["billed_ms"], " ms")}</td><td class="cold">{_cold(r["cold_start"])}</td>'
        f"<td>{memory}</td>"
        f"<td>{badge(r['status'])}</td><td>{escape(r['trigger'] or '—')}</td>"
        f"<td>{trace_link(r['trace_id'], 'trace') if r['trace_id'] else '—'}</td></tr>"
    )


def detail_page(detail: Mapping[str, Any]) -> str:
    """One invocation: its summary, error banner, waterfall, span details, logs and platform metrics."""
    inv = detail["invocation"]
    banner = ""
    if inv["status"] != "ok":
        what = {"error": "ERROR", "timeout": "TIMED OUT", "oom": "OUT OF MEMORY"}.get(inv["status"], "FAILED")
        banner = (
            f'<div class="banner {escape(inv["status"])}" id="status-banner">{what}: '
            + escape(inv["error_type"] or inv["status"])
            + "</div>"
        )
    facts = [
        ("Function", escape(inv["function"] or "—")),
        ("Request id", escape(inv["request_id"])),
        ("Trace id", trace_link(inv["trace_id"])),
        ("Start (UTC)", clock(inv["start_ns"])),
        ("Duration", num(inv["duration_ms"], " ms")),
        ("Billed", num(inv["billed_ms"], " ms")),
        ("Cold start", _cold(inv["cold_start"])),
        ("Init", num(inv["init_ms"], " ms")),
        ("Memory", f"{num(inv['memory_used_mb'])} / {num(inv['memory_size_mb'])} MB"),
        ("Status", badge(inv["status"])),
        ("Trigger", escape(inv["trigger"] or "—")),
    ]
    summary = "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"
    body = (
        f"<h2>Invocation {escape(inv['request_id'])}</h2>{banner}{summary}"
        f"<h3>Trace</h3>{_whole_trace(detail)}{svg.waterfall(detail['spans'])}{span_panels(detail['spans'])}"
        f"<h3>Logs</h3>{_logs(detail['logs'])}<h3>Platform metrics</h3>{_metrics(detail['metrics'])}"
    )
    return layout(f"Invocation {inv['request_id']}", body)


def _whole_trace(detail: Mapping[str, Any]) -> str:
    """A pointer to the whole trace when other functions' spans share it."""
    others = detail.get("trace_functions") or []
    if not others:
        return ""
    names = ", ".join(escape(f) for f in others)
    link = trace_link(detail["invocation"]["trace_id"], "whole trace")
    return f'<p class="note" id="whole-trace">This trace continues in {names}: see the {link}.</p>'


def _logs(logs: Sequence[Mapping[str, Any]]) -> str:
    if not logs:
        return '<p class="empty">No logs for this invocation.</p>'
    rows = "".join(
        f'<tr class="{"sev-error" if (r["severity_number"] or 0) >= 17 else ""}">'
        f"<td>{clock(r['time_ns'])}</td>"
        f"<td>{escape(r['severity_text'] or str(r['severity_number'] or ''))}</td>"
        f"<td><pre>{escape(r['body'])}</pre></td></tr>"
        for r in logs
    )
    return f'<table id="logs"><tr><th>Time (UTC)</th><th>Severity</th><th>Message</th></tr>{rows}</table>'


def _metrics(points: Sequence[Mapping[str, Any]]) -> str:
    if not points:
        return '<p class="empty">No metrics for this invocation.</p>'
    rows = "".join(
        f"<tr><td>{escape(p['name'])}</td><td>{p['value']:,.3f}</td><td>{escape(p['unit'])}</td>"
        f"<td>{escape(p['kind'])}</td></tr>"
        for p in points
    )
    return (
        f'<table id="metrics"><tr><th>Metric</th><th>Value</th><th>Unit</th><th>Kind</th></tr>{rows}</table>'
    )


def charts_page(
    buckets: Sequence[Bucket], functions: Sequence[str], function: str | None, rng: TimeRange
) -> str:
    """Duration percentiles, cold-start rate and init duration, and errors over time."""
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in rng.query().items())
    form = (
        f'<form id="chart-filters" method="get" action="/charts">{hidden}'
        f'<select name="function" id="c-function">{_options(functions, function, "all functions")}</select>'
        '<button type="submit">Show</button></form>'
    )
    chrome: dict[str, Any] = {"path": "/charts", "rng": rng, "params": {"function": function or ""}}
    if not buckets:
        return layout(
            "Charts", f"<h2>Charts</h2>{form}<p class='empty'>No invocations in this range.</p>", **chrome
        )
    xs = [b.start_ns for b in buckets]
    charts = [
        svg.line_chart(
            "chart-duration",
            "Duration percentiles",
            xs,
            {
                "p50": [b.p50_ms for b in buckets],
                "p90": [b.p90_ms for b in buckets],
                "p99": [b.p99_ms for b in buckets],
            },
            "ms",
        ),
        svg.line_chart(
            "chart-cold-rate",
            "Cold-start rate",
            xs,
            {
                "cold starts": [
                    None if b.cold_start_rate is None else 100 * b.cold_start_rate for b in buckets
                ]
            },
            "%",
        ),
        svg.line_chart(
            "chart-init",
            "Cold-start (init) duration p50",
            xs,
            {"init": [b.init_p50_ms for b in buckets]},
            "ms",
        ),
        svg.bar_chart(
            "chart-errors",
            "Errors",
            xs,
            {
                "errors": [float(b.errors) for b in buckets],
                "timeouts": [float(b.timeouts) for b in buckets],
                "out of memory": [float(b.ooms) for b in buckets],
            },
            "invocations",
        ),
    ]
    return layout("Charts", f"<h2>Charts</h2>{form}<div class='charts'>{''.join(charts)}</div>", **chrome)


def key_page(message: str, next_path: str = "/") -> str:
    """The page asking a browser for a key: POSTed to /login (never in a URL), which sets a cookie and
    goes back to ``next_path``."""
    form = (
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>API key <input type="password" name="key" id="key" autocomplete="current-password" autofocus>'
        '</label><button type="submit">Open</button></form>'
    )
    return layout("Key needed", f"<h2>{escape(message)}</h2>{form}", chrome=False)


def not_found_page(what: str) -> str:
    return layout("Not found", f"<h2>Not found</h2><p>{escape(what)}</p>")
