"""The pages over a time range: the functions overview (home), dependencies, logs and metrics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any
from urllib.parse import quote

from zerolag.collector import svg
from zerolag.collector.viewer import layout, pricing
from zerolag.collector.viewer.dependencies import Result
from zerolag.collector.viewer.format import clock, ms, num, pct, usd
from zerolag.collector.viewer.functions import FunctionStats
from zerolag.collector.viewer.telemetry import SEVERITIES, LogFilters, Series
from zerolag.collector.viewer.timerange import TimeRange


def _options(values: Sequence[tuple[str, str]], selected: str | None) -> str:
    return "".join(
        f'<option value="{escape(v)}"{" selected" if v == (selected or "") else ""}>{escape(label)}</option>'
        for v, label in values
    )


def _function_select(functions: Sequence[str], selected: str | None, ident: str) -> str:
    values = [("", "all functions"), *((f, f) for f in functions)]
    return f'<select name="function" id="{ident}">{_options(values, selected)}</select>'


def _hidden(rng: TimeRange) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in rng.query().items())


def _rate(rate: float | None, bad: float = 0.05) -> str:
    cls = " bad" if rate and rate > bad else (" warn" if rate else "")
    return f'<span class="rate{cls}">{pct(rate)}</span>'


def _count(count: int, rate: float | None, href: str = "") -> str:
    """A failure count with its rate; zero stays quiet."""
    if not count:
        return '<span class="muted">0</span>'
    number = f'<a href="{escape(href)}">{count:,}</a>' if href else f"{count:,}"
    return f"{number} {_rate(rate)}"


# --- overview ----------------------------------------------------------------------------------------------
def overview_page(rows: Sequence[FunctionStats], totals: Mapping[str, float], rng: TimeRange) -> str:
    """Per function: traffic, failures, latency, cold starts, memory, cost and telemetry's own cost."""
    cards = (
        f'<div class="cards" id="totals" data-live>'
        f"<div class='card'><b id='total-invocations'>{int(totals['invocations']):,}</b><span>"
        "invocations</span></div>"
        f"<div class='card'><b>{pct(totals['error_rate'])}</b><span>failed ({int(totals['failed']):,})</span>"
        "</div>"
        f"<div class='card'><b id='total-cost'>{usd(totals['cost_usd'])}</b><span>estimated Lambda "
        "cost</span></div>"
        f"<div class='card'><b>{usd(totals['telemetry_overhead_cost_usd'])}</b>"
        "<span>of it telemetry overhead</span></div></div>"
    )
    head = (
        "<tr><th>Function</th><th class='num'>Invocations</th><th class='num'>Errors</th>"
        "<th class='num'>Timeouts</th><th class='num'>OOM</th><th class='num'>p50</th><th class='num'>"
        "p95</th>"
        "<th class='num'>p99</th><th class='num'>Cold starts</th><th class='num'>Init p50</th>"
        "<th>Memory max / size</th><th class='num'>GB-s</th><th class='num'>Cost</th>"
        "<th class='num'>Telemetry / inv.</th><th class='num'>Telemetry share</th></tr>"
    )
    body = "".join(_function_row(r, rng) for r in rows) or (
        '<tr><td colspan="15" class="empty">No invocations in this range.</td></tr>'
    )
    table = (
        f'<table id="functions"><thead>{head}</thead>'
        f'<tbody id="function-rows" data-live>{body}</tbody></table>'
    )
    note = (
        "<p class='note'>Rates are of all invocations; errors, timeouts and OOM are counted apart. Cost is "
        "an "
        "estimate at Lambda's public on-demand price (x86 $"
        f"{pricing.PRICES['x86_64'].gb_second_usd:.10f}/GB-s, arm $"
        f"{pricing.PRICES['arm64'].gb_second_usd:.10f}/GB-s, "
        f"${pricing.REQUEST_USD * 1e6:.2f} per million requests; {escape(pricing.SOURCE)}). "
        "Telemetry overhead is the billed time extensions keep an invocation open after the runtime "
        "answered (Lambda's post-runtime duration).</p>"
    )
    return layout.page(
        "Functions", f"<h2>Functions</h2>{cards}{table}{note}", path="/", rng=rng, live=rng.relative
    )


def _function_row(r: FunctionStats, rng: TimeRange) -> str:
    fn = escape(r.function)
    link = f'<a href="/invocations?{escape(rng.qs(function=r.function))}">{fn}</a>'

    def failures(count: int, status: str) -> str:
        return _count(
            count, count / r.invocations, "/invocations?" + rng.qs(function=r.function, status=status)
        )

    memory = "—"
    if r.memory_size_mb:
        ratio = r.memory_used_ratio or 0.0
        hot = " hot" if ratio > 0.85 else ""
        meter = f'<span class="meter"><i class="w{min(10, round(ratio * 10))}{hot}"></i></span>'
        memory = f"{meter}{num(r.max_memory_used_mb)} / {num(r.memory_size_mb)} MB"
    arch = (
        ""
        if r.architecture == pricing.DEFAULT_ARCH
        else f" <span class='muted'>{escape(r.architecture)}</span>"
    )
    overhead = ms(r.telemetry_overhead_ms_per_invocation) if r.telemetry_invocations else "—"
    share = pct(r.telemetry_overhead_cost_share) if r.telemetry_invocations else "—"
    return (
        f'<tr data-function="{fn}"><td class="fn">{link}{arch}</td><td class="num">{r.invocations:,}</td>'
        f"<td class='num'>{failures(r.errors, 'error')}</td><td class='num'>"
        f"{failures(r.timeouts, 'timeout')}</td>"
        f"<td class='num'>{failures(r.ooms, 'oom')}</td>"
        f"<td class='num'>{ms(r.p50_ms)}</td><td class='num'>{ms(r.p95_ms)}</td><td class='num'>"
        f"{ms(r.p99_ms)}</td>"
        f"<td class='num'>{pct(r.cold_start_rate)}</td><td class='num'>{ms(r.init_p50_ms)}</td>"
        f"<td>{memory}</td><td class='num'>{r.billed_gb_seconds:,.2f}</td><td class='num cost'>"
        f"{usd(r.cost_usd)}</td>"
        f"<td class='num'>{overhead}</td><td class='num'>{share}</td></tr>"
    )


# --- dependencies ------------------------------------------------------------------------------------------
def dependencies_page(result: Result, functions: Sequence[str], function: str | None, rng: TimeRange) -> str:
    edges = [d.as_dict() for d in result.dependencies]
    form = (
        f'<form id="dep-filters" method="get" action="/dependencies">{_hidden(rng)}'
        f'{_function_select(functions, function, "d-function")}<button type="submit">Show</button></form>'
    )
    rows = (
        "".join(
            f'<tr data-kind="{escape(e["kind"])}"><td class="fn">{escape(e["function"])}</td><td>'
            f"{escape(e['kind'])}</td>"
            f"<td class='svc'>{escape(e['name'])}</td><td class='num'>{e['calls']:,}</td>"
            f"<td class='num'>{_rate(e['error_rate'])}</td><td class='num'>{ms(e['p95_ms'])}</td></tr>"
            for e in edges
        )
        or '<tr><td colspan="6" class="empty">No client calls in this range.</td></tr>'
    )
    table = (
        "<table id='dependencies'><tr><th>Function</th><th>Kind</th><th>Service</th><th class='num'>"
        "Calls</th>"
        f"<th class='num'>Error rate</th><th class='num'>p95</th></tr>{rows}</table>"
    )
    note = (
        "<p class='note'>Read from the newest 5,000 client calls of the range.</p>" if result.sampled else ""
    )
    drawn = svg.dependency_map(edges)
    body = f"<h2>Dependencies</h2>{form}<div class='deps'>{drawn}<div>{table}{note}</div></div>"
    return layout.page(
        "Dependencies", body, path="/dependencies", rng=rng, params={"function": function or ""}
    )


# --- logs --------------------------------------------------------------------------------------------------
def logs_page(
    rows: Sequence[Mapping[str, Any]], functions: Sequence[str], f: LogFilters, rng: TimeRange
) -> str:
    form = (
        f'<form id="log-filters" method="get" action="/logs">{_hidden(rng)}'
        f"{_function_select(functions, f.function, 'l-function')}"
        '<select name="severity" id="l-severity">'
        f"{_options([(k, label) for k, label, _ in SEVERITIES], f.severity)}</select>"
        f'<input type="search" name="text" id="l-text" value="{escape(f.text or "")}" placeholder="text in '
        'the message">'
        '<button type="submit" id="l-apply">Filter</button></form>'
    )
    body = "".join(_log_row(r) for r in rows) or '<tr><td colspan="5" class="empty">No logs match.</td></tr>'
    table = (
        "<table id='log-lines'><thead><tr><th>Time (UTC)</th><th>Function</th><th>Severity</th><th>"
        "Message</th>"
        f"<th>Invocation</th></tr></thead><tbody id='log-rows' data-live>{body}</tbody></table>"
    )
    params = {"function": f.function or "", "severity": f.severity or "", "text": f.text or ""}
    pager = ""
    if len(rows) >= f.limit:
        href = "/logs?" + rng.qs(**params, before=rows[-1]["time_ns"])
        pager = f'<div class="pager"><a id="older-logs" href="{escape(href)}">Older logs →</a></div>'
    return layout.page(
        "Logs",
        f"<h2>Logs</h2>{form}{table}{pager}",
        path="/logs",
        rng=rng,
        params=params,
        live=rng.relative and f.before_ns is None,
    )


def _log_row(r: Mapping[str, Any]) -> str:
    sev = int(r["severity_number"] or 0)
    cls = "sev-error" if sev >= 17 else ("sev-warn" if sev >= 13 else "")
    rid = r["request_id"]
    inv = f'<a href="/invocations/{quote(rid)}">{escape(rid)}</a>' if rid else "—"
    return (
        f'<tr class="{cls}" data-severity="{sev}"><td>{clock(r["time_ns"])}</td><td>'
        f"{escape(r['function'] or '—')}</td>"
        f"<td>{escape(r['severity_text'] or str(sev or ''))}</td><td class='msg'><pre>"
        f"{escape(r['body'])}</pre></td>"
        f"<td>{inv}</td></tr>"
    )


# --- metrics -----------------------------------------------------------------------------------------------
def metrics_page(
    series: Sequence[Series], functions: Sequence[str], function: str | None, rng: TimeRange
) -> str:
    form = (
        f'<form id="metric-filters" method="get" action="/metrics">{_hidden(rng)}'
        f'{_function_select(functions, function, "m-function")}<button type="submit">Show</button></form>'
    )
    charts = "".join(
        svg.line_chart(
            f"metric-{i}",
            f"{s.name} ({'total' if s.kind == 'sum' else 'mean'}, {s.points:,} points)",
            s.xs,
            {s.name: s.values},
            s.unit or "",
        )
        for i, s in enumerate(series)
    )
    if not charts:
        charts = (
            "<p class='empty'>No custom metrics in this range (the platform's aws.lambda.* and faas.* "
            "are on the overview).</p>"
        )
    note = (
        "<p class='note'>Custom metrics from OTLP and from CloudWatch EMF log lines (the extension turns EMF "
        "into "
        "OTLP). Gauges and histograms show the mean per bucket, sums the total.</p>"
    )
    return layout.page(
        "Metrics",
        f"<h2>Metrics</h2>{form}<div class='charts' id='metric-charts'>{charts}</div>{note}",
        path="/metrics",
        rng=rng,
        params={"function": function or ""},
    )


def search_note(kind: str, text: str, found: int) -> str:
    what = {"trace_id": "trace id", "attribute": "attribute", "text": "request id or log text"}.get(
        kind, kind
    )
    return f"{found} invocation(s) match {what} “{text}”" + (" (first 500)" if found >= 500 else "")
