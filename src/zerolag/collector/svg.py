"""Inline SVG for the viewer: a trace waterfall and simple time-series charts. Pure string building."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any, Final

ERROR: Final = "#d93025"
COLORS: Final = ("#1a73e8", "#e8710a", "#188038", "#9334e6", "#d93025")
FUNCTION_COLORS: Final = ("#1a73e8", "#e37400", "#188038", "#9334e6", "#007b83", "#b80672", "#5f6368")
ROW_H: Final = 24
LABEL_W: Final = 300
WIDTH: Final = 1100


def span_tree_order(spans: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """``(depth, span)`` depth-first from the roots, children by start time; orphans count as roots."""
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[Mapping[str, Any]]] = {}
    for span in spans:
        parent = span.get("parent_span_id")
        children.setdefault(parent if parent in ids else None, []).append(span)
    ordered: list[tuple[int, Mapping[str, Any]]] = []
    stack = [(0, s) for s in reversed(sorted(children.get(None, []), key=lambda s: s["start_ns"]))]
    seen: set[str] = set()
    while stack:
        depth, span = stack.pop()
        if span["span_id"] in seen:
            continue
        seen.add(span["span_id"])
        ordered.append((depth, span))
        kids = sorted(children.get(span["span_id"], []), key=lambda s: s["start_ns"])
        stack.extend((depth + 1, kid) for kid in reversed(kids))
    return ordered


def function_colors(spans: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """A colour per function, in the order the functions first appear in the waterfall."""
    colors: dict[str, str] = {}
    for _, span in span_tree_order(spans):
        name = span.get("function") or "?"
        colors.setdefault(name, FUNCTION_COLORS[len(colors) % len(FUNCTION_COLORS)])
    return colors


def waterfall(spans: Sequence[Mapping[str, Any]]) -> str:
    """The spans of a trace as bars on a shared time axis; errors red, events as ticks, with tooltips.

    Each row links to ``#span-<id>`` (the page's detail panel for that span). When the spans come from
    more than one function, a coloured band left of each row marks which function's part it is, with a
    legend on top.
    """
    rows = span_tree_order(spans)
    if not rows:
        return '<p class="empty">No spans for this invocation.</p>'
    t0 = min(s["start_ns"] for _, s in rows)
    total = max(max(s["end_ns"] for _, s in rows) - t0, 1)
    bar_w = WIDTH - LABEL_W - 20
    colors = function_colors(spans)
    marked = len(colors) > 1
    top = 18 if marked else 0
    height = ROW_H * len(rows) + 30 + top
    parts = [
        f'<svg id="waterfall" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="trace waterfall">',
        _function_legend(colors) if marked else "",
        f'<g transform="translate(0,{top})">',
        _axis(total, bar_w),
    ]
    for i, (depth, span) in enumerate(rows):
        band = colors[span.get("function") or "?"] if marked else None
        parts.append(_span_row(i, depth, span, t0=t0, total=total, bar_w=bar_w, band=band))
    parts.append("</g></svg>")
    return "".join(parts)


def _function_legend(colors: Mapping[str, str]) -> str:
    items, x = [], 6
    for name, color in colors.items():
        items.append(
            f'<g class="fn-legend"><rect x="{x}" y="3" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="12" font-size="11" fill="#202124">{escape(name)}</text></g>'
        )
        x += 24 + 7 * len(name)
    return "".join(items)


def _axis(total_ns: int, bar_w: int) -> str:
    ticks = []
    anchors = ("start", "middle", "middle", "middle", "end")
    for i in range(5):
        x = LABEL_W + bar_w * i / 4
        ticks.append(
            f'<line x1="{x:.1f}" y1="14" x2="{x:.1f}" y2="100%" stroke="#e0e0e0"/>'
            f'<text x="{x:.1f}" y="11" font-size="10" text-anchor="{anchors[i]}" '
            'fill="#5f6368">'
            f"{total_ns * i / 4 / 1e6:.1f} ms</text>"
        )
    return "".join(ticks)


def _span_row(
    i: int, depth: int, span: Mapping[str, Any], *, t0: int, total: int, bar_w: int, band: str | None
) -> str:
    y = 20 + i * ROW_H
    x = LABEL_W + bar_w * (span["start_ns"] - t0) / total
    w = max(bar_w * (span["end_ns"] - span["start_ns"]) / total, 2)
    failed = span.get("status_code") == 2
    color = ERROR if failed else (band or COLORS[min(depth, 3)])  # across functions: the function's colour
    duration = (span["end_ns"] - span["start_ns"]) / 1e6
    name = escape(str(span["name"]))
    label = name if len(name) < 38 - depth * 2 else name[: 35 - depth * 2] + "…"
    tip = f"{name} · {duration:.2f} ms" + (
        " · ERROR " + escape(span.get("status_message") or "") if failed else ""
    )
    ticks = "".join(
        f'<rect class="span-event" x="{LABEL_W + bar_w * (e["time_ns"] - t0) / total - 1:.1f}" y="{y + 1}" '
        f'width="3" height="{ROW_H - 8}" fill="#202124"><title>{escape(str(e["name"]))}</title></rect>'
        for e in span.get("events", ())
    )
    fn_band = ""
    if band is not None:
        fn_band = (
            f'<rect class="fn-band" data-function="{escape(str(span.get("function") or "?"))}" x="0" '
            f'y="{y - 2}" width="4" height="{ROW_H}" fill="{band}"/>'
        )
    return (
        f'<a href="#span-{escape(span["span_id"])}" class="span-link">'
        f'<g class="span-row{" span-error" if failed else ""}" data-span-id="{escape(span["span_id"])}">'
        f"<title>{tip}</title>{fn_band}"
        f'<text x="{8 + depth * 12}" y="{y + 13}" font-size="12" fill="{ERROR if failed else "#202124"}">'
        f"{'⚠ ' if failed else ''}{label}</text>"
        f'<rect class="span-bar" x="{x:.1f}" y="{y}" width="{w:.1f}" height="{ROW_H - 6}" rx="3" '
        f'fill="{color}"/>{ticks}'
        f"{_duration_label(x, w, y, duration)}</g></a>"
    )


def _duration_label(x: float, w: float, y: int, duration: float) -> str:
    """The span's duration right of its bar; near the right edge, inside a long bar or left of a short one."""
    if x + w + 70 > WIDTH:
        inside = w > 70
        return (
            f'<text x="{x + w - 6 if inside else x - 4:.1f}" y="{y + 13}" font-size="11" '
            f'fill="{"#fff" if inside else "#5f6368"}" text-anchor="end">{duration:.2f} ms</text>'
        )
    return f'<text x="{x + w + 4:.1f}" y="{y + 13}" font-size="11" fill="#5f6368">{duration:.2f} ms</text>'


def line_chart(
    chart_id: str, title: str, xs: Sequence[int], series: Mapping[str, Sequence[float | None]], unit: str
) -> str:
    """Lines over time (``xs`` in ns), one per series, ``None`` leaving a gap; axes show the range."""
    w, h, pad = 520, 220, 44
    values = [v for vals in series.values() for v in vals if v is not None]
    top = max(values, default=0.0) or 1.0
    parts = [_chart_frame(chart_id, title, w=w, h=h, pad=pad, top=top, unit=unit, xs=xs)]
    n = max(len(xs) - 1, 1)
    for k, (name, vals) in enumerate(series.items()):
        color = COLORS[k % len(COLORS)]
        points = [
            f"{pad + (w - 2 * pad) * i / n:.1f},{h - pad - (h - 2 * pad) * v / top:.1f}"
            for i, v in enumerate(vals)
            if v is not None
        ]
        parts.extend(
            f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{color}"/>' for p in points
        )
        if points:
            parts.append(
                f'<polyline class="series" fill="none" stroke="{color}" stroke-width="2" '
                f'points="{" ".join(points)}"/>'
            )
        parts.append(
            f'<text x="{pad + 90 * k}" y="{h - 8}" font-size="11" fill="{color}">■ {escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    chart_id: str, title: str, xs: Sequence[int], series: Mapping[str, Sequence[float]], unit: str
) -> str:
    """Stacked bars per bucket, one colour per series (errors, timeouts, out-of-memory)."""
    w, h, pad = 520, 220, 44
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(xs))]
    top = max(totals, default=0.0) or 1.0
    parts = [_chart_frame(chart_id, title, w=w, h=h, pad=pad, top=top, unit=unit, xs=xs)]
    slot = (w - 2 * pad) / max(len(xs), 1)
    base = [0.0] * len(xs)
    for k, (name, vals) in enumerate(series.items()):
        color = (ERROR, "#e8710a", "#9334e6", *COLORS)[k]
        for i, v in enumerate(vals):
            if v:
                bh = (h - 2 * pad) * v / top
                y = h - pad - (h - 2 * pad) * base[i] / top - bh
                parts.append(
                    f'<rect class="bar" x="{pad + slot * i + 1:.1f}" y="{y:.1f}" '
                    f'width="{max(slot - 2, 1):.1f}" '
                    f'height="{bh:.1f}" fill="{color}"><title>{escape(name)}: {v:g}</title></rect>'
                )
                base[i] += v
        parts.append(
            f'<text x="{pad + 90 * k}" y="{h - 8}" font-size="11" fill="{color}">■ {escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _chart_frame(
    chart_id: str, title: str, *, w: int, h: int, pad: int, top: float, unit: str, xs: Sequence[int]
) -> str:
    from datetime import datetime, timezone

    def clock(ns: int) -> str:
        return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%H:%M:%S")

    last = xs[-1] + (xs[-1] - xs[-2] if len(xs) > 1 else 0) if xs else 0
    span = f"{clock(xs[0])} to {clock(last)} UTC" if xs else ""
    return (
        f'<svg id="{escape(chart_id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{w}" '
        f'height="{h}" viewBox="0 0 {w} {h}">'
        f'<text x="{pad}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#9aa0a6"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#9aa0a6"/>'
        f'<text x="{pad - 4}" y="{pad + 4}" font-size="10" text-anchor="end">{top:.4g}</text>'
        f'<text x="{pad - 4}" y="{h - pad}" font-size="10" text-anchor="end">0</text>'
        f'<text x="{w - pad}" y="{pad - 8}" font-size="10" text-anchor="end">{escape(unit)}</text>'
        f'<text x="{w / 2}" y="{h - pad + 14}" font-size="10" text-anchor="middle">{span}</text>'
    )


SERVICE_COLORS: Final = {
    "dynamodb": "#4053d6",
    "s3": "#3f8624",
    "sqs": "#e7157b",
    "sns": "#e7157b",
    "lambda": "#e37400",
    "http": "#5f6368",
}


def dependency_map(edges: Sequence[Mapping[str, Any]]) -> str:
    """Functions (left) joined to the services they call (right); a line's width grows with the calls, and
    it is red when more than 5% of them failed. ``edges``: function, kind, name, calls, error_rate, p95_ms."""
    if not edges:
        return '<p class="empty">No client calls in this range.</p>'
    functions = list(dict.fromkeys(str(e["function"]) for e in edges))
    services = list(dict.fromkeys((str(e["kind"]), str(e["name"])) for e in edges))
    row, box_w, box_h, left, right = 34, NODE_W, NODE_H, 10, 470
    height = max(len(functions), len(services)) * row + 20
    most = max(int(e["calls"]) for e in edges) or 1
    fy = {f: 14 + i * row for i, f in enumerate(functions)}
    sy = {s: 14 + i * row for i, s in enumerate(services)}
    parts = [
        f'<svg id="dependency-map" xmlns="http://www.w3.org/2000/svg" width="{right + box_w + 10}" '
        f'height="{height}" viewBox="0 0 {right + box_w + 10} {height}" role="img" aria-label="dependency '
        'map">'
    ]
    for e in edges:
        y1 = fy[str(e["function"])] + box_h / 2
        y2 = sy[(str(e["kind"]), str(e["name"]))] + box_h / 2
        failing = float(e["error_rate"]) > 0.05
        width = 1.5 + 5 * int(e["calls"]) / most
        p95 = "—" if e["p95_ms"] is None else f"{float(e['p95_ms']):.1f} ms"
        tip = escape(
            f"{e['function']} → {e['kind']} {e['name']}: {e['calls']} calls, "
            f"{100 * float(e['error_rate']):.1f}% errors, p95 {p95}"
        )
        parts.append(
            f'<path class="edge{" failing" if failing else ""}" d="M{left + box_w},{y1:.1f} '
            f'C{left + box_w + 120},{y1:.1f} {right - 120},{y2:.1f} {right},{y2:.1f}" fill="none" '
            f'stroke="{ERROR if failing else "#9aa0a6"}" stroke-width="{width:.1f}"><title>{tip}</title>'
            "</path>"
        )
    for f, y in fy.items():
        parts.append(_node("fn-node", left, y, "#1a73e8", "λ " + f))
    for (kind, name), y in sy.items():
        parts.append(_node("svc-node", right, y, SERVICE_COLORS.get(kind, "#5f6368"), f"{kind} · {name}"))
    parts.append("</svg>")
    return "".join(parts)


NODE_W: Final = 220
NODE_H: Final = 24


def _node(cls: str, x: int, y: int, color: str, label: str) -> str:
    w, h = NODE_W, NODE_H
    text = label if len(label) <= 32 else label[:31] + "…"
    return (
        f'<g class="{cls}"><rect x="{x}" y="{y}" width="{w}" height="{h}" rx="5" fill="#fff" '
        f'stroke="{color}" '
        f'stroke-width="1.5"/><rect x="{x}" y="{y}" width="5" height="{h}" rx="2" fill="{color}"/>'
        f'<text x="{x + 12}" y="{y + 16}" font-size="12" fill="#202124">{escape(text)}<title>'
        f"{escape(label)}</title></text></g>"
    )
