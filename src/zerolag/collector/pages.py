"""The viewer's server-rendered pages: invocations, one invocation, charts, the key form. No JavaScript."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from html import escape
from string import Template
from typing import Any, Final
from urllib.parse import quote, urlencode

from zerolag.collector import svg
from zerolag.collector.queries import STATUSES, Filters
from zerolag.collector.series import Bucket

_CSS: Final = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#202124;background:#fff}
header{background:#202124;color:#fff;padding:10px 20px;display:flex;gap:24px;align-items:center}
header a{color:#fff;text-decoration:none}header b{font-size:16px}
main{padding:16px 20px}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e0e0e0;font-variant-numeric:tabular-nums}
th{background:#f1f3f4}tr.failed{background:#fce8e6}
.badge{padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#188038}
.badge.error{background:#d93025}.badge.timeout{background:#e8710a}.badge.oom{background:#9334e6}
.banner{padding:10px 14px;border-radius:6px;margin:10px 0;font-weight:600;color:#fff;background:#d93025}
.banner.timeout{background:#e8710a}.banner.oom{background:#9334e6}
dl{display:grid;grid-template-columns:max-content auto max-content auto max-content auto;gap:4px 14px}
dt{color:#5f6368}dd{margin:0}pre{white-space:pre-wrap;margin:0}
form{margin:0 0 12px}select,input,button{font:inherit;margin-right:8px}
.charts{display:flex;flex-wrap:wrap;gap:16px}.empty{color:#5f6368}
details{margin:2px 0}summary{cursor:pointer}.sev-error{color:#d93025;font-weight:600}
"""

_LAYOUT: Final = Template(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>$title · zerolag</title>
<style>$css</style></head><body><header><b>zerolag</b><a href="/">Invocations</a><a href="/charts">Charts</a>
</header><main>$body</main></body></html>"""
)


def layout(title: str, body: str) -> str:
    return _LAYOUT.substitute(title=escape(title), css=_CSS, body=body)


def clock(ns: int | None) -> str:
    """Nanoseconds since the epoch as a UTC time with milliseconds."""
    if not ns:
        return "—"
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def num(value: float | None, unit: str = "") -> str:
    return "—" if value is None else f"{value:,.2f}{unit}".replace(".00", "")


def badge(status: str) -> str:
    return f'<span class="badge {escape(status)}">{escape(status.upper())}</span>'


def _cold(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "no")


def _options(values: Sequence[str], selected: str | None, any_label: str) -> str:
    opts = [f'<option value="">{any_label}</option>']
    opts += [
        f'<option value="{escape(v)}"{" selected" if v == selected else ""}>{escape(v)}</option>'
        for v in values
    ]
    return "".join(opts)


def invocations_page(rows: Sequence[Mapping[str, Any]], functions: Sequence[str], filters: Filters) -> str:
    """The invocations table with its filter form."""
    cold = {None: "", True: "true", False: "false"}[filters.cold_start]
    form = (
        '<form id="filters" method="get" action="/">'
        '<select name="function" id="f-function">'
        f"{_options(functions, filters.function, 'all functions')}</select>"
        f'<select name="status" id="f-status">{_options(STATUSES, filters.status, "any status")}</select>'
        '<select name="cold_start" id="f-cold">'
        f"{_options(('true', 'false'), cold, 'cold or warm')}</select>"
        '<button type="submit" id="f-apply">Filter</button></form>'
    )
    head = (
        "<tr><th>Function</th><th>Request id</th><th>Start (UTC)</th><th>Duration</th><th>Billed</th>"
        "<th>Cold start</th><th>Memory used / size</th><th>Status</th><th>Trigger</th></tr>"
    )
    body = "".join(_invocation_row(r) for r in rows)
    if not rows:
        body = '<tr><td colspan="9" class="empty">No invocations match.</td></tr>'
    table = f'<table id="invocations"><thead>{head}</thead><tbody>{body}</tbody></table>'
    return layout("Invocations", f"<h2>Invocations</h2>{form}{table}{_older_link(rows, filters)}")


def _older_link(rows: Sequence[Mapping[str, Any]], filters: Filters) -> str:
    """A link to the next page (older invocations) when this page is full."""
    if len(rows) < filters.limit:
        return ""
    query = {"function": filters.function, "status": filters.status, "limit": filters.limit}
    if filters.cold_start is not None:
        query["cold_start"] = str(filters.cold_start).lower()
    query["before"] = rows[-1]["start_ns"]
    href = "/?" + urlencode({k: v for k, v in query.items() if v is not None})
    return f'<p><a id="older" href="{escape(href)}">Older invocations →</a></p>'


def _invocation_row(r: Mapping[str, Any]) -> str:
    link = f'<a href="/invocations/{quote(r["request_id"])}">{escape(r["request_id"])}</a>'
    memory = f"{num(r['memory_used_mb'])} / {num(r['memory_size_mb'])} MB"
    cls = ' class="failed"' if r["status"] != "ok" else ""
    return (
        f'<tr{cls} data-status="{escape(r["status"])}"><td class="fn">{escape(r["function"] or "—")}</td>'
        f"<td>{link}</td><td>{clock(r['start_ns'])}</td><td>{num(r['duration_ms'], ' ms')}</td>"
        f'<td>{num(r["billed_ms"], " ms")}</td><td class="cold">{_cold(r["cold_start"])}</td>'
        f"<td>{memory}</td>"
        f"<td>{badge(r['status'])}</td><td>{escape(r['trigger'] or '—')}</td></tr>"
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
        ("Trace id", escape(inv["trace_id"] or "—")),
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
        f"<h3>Trace</h3>{svg.waterfall(detail['spans'])}{_span_details(detail['spans'])}"
        f"<h3>Logs</h3>{_logs(detail['logs'])}<h3>Platform metrics</h3>{_metrics(detail['metrics'])}"
    )
    return layout(f"Invocation {inv['request_id']}", body)


def _kv(values: Mapping[str, Any]) -> str:
    return escape(json.dumps(values, indent=1, sort_keys=True, default=str)) if values else "{}"


def _span_details(spans: Sequence[Mapping[str, Any]]) -> str:
    items = []
    for depth, span in svg.span_tree_order(spans):  # the waterfall's order, indented like it
        events = "".join(
            f"<li>{clock(e['time_ns'])} <b>{escape(e['name'])}</b> <pre>{_kv(e['attributes'])}</pre></li>"
            for e in span["events"]
        )
        status = " ⚠ error" + (f": {escape(span['status_message'])}" if span["status_message"] else "")
        items.append(
            f'<details class="span-detail" style="margin-left:{depth * 16}px">'
            f"<summary>{escape(span['name'])} · {span['duration_ms']:.2f} ms"
            f"{status if span['status_code'] == 2 else ''}</summary><pre>{_kv(span['attributes'])}</pre>"
            f"{f'<ul>{events}</ul>' if events else ''}</details>"
        )
    return "".join(items)


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


def charts_page(buckets: Sequence[Bucket], functions: Sequence[str], function: str | None) -> str:
    """Duration percentiles, cold-start rate and init duration, and errors over time."""
    form = (
        '<form id="chart-filters" method="get" action="/charts">'
        f'<select name="function" id="c-function">{_options(functions, function, "all functions")}</select>'
        '<button type="submit">Show</button></form>'
    )
    if not buckets:
        return layout("Charts", f"<h2>Charts</h2>{form}<p class='empty'>No invocations yet.</p>")
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
    return layout("Charts", f"<h2>Charts</h2>{form}<div class='charts'>{''.join(charts)}</div>")


def key_page(message: str, next_path: str = "/") -> str:
    """The page asking a browser for a key: POSTed to /login (never in a URL), which sets a cookie and
    goes back to ``next_path``."""
    form = (
        '<form method="post" action="/login">'
        f'<input type="hidden" name="next" value="{escape(next_path)}">'
        '<label>API key <input type="password" name="key" id="key" autocomplete="current-password" autofocus>'
        '</label><button type="submit">Open</button></form>'
    )
    return layout("Key needed", f"<h2>{escape(message)}</h2>{form}")


def not_found_page(what: str) -> str:
    return layout("Not found", f"<h2>Not found</h2><p>{escape(what)}</p>")
