"""Plain-text tables and a text waterfall for ``zerolag traces`` (pure string building)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

BAR_WIDTH = 40
LOG_WIDTH = 100

# Characters a terminal acts on instead of printing: C0 and C1 controls (ESC starts escape sequences that
# can retitle windows, rewrite the screen or, in some terminals, write files), DEL, and the invisible
# format characters that reorder or hide text (bidi overrides, zero-width, line/paragraph separators).
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069\ufeff]")


def safe(text: object) -> str:
    """``text`` with every character a terminal would act on shown as an escape (``\\x1b``, ``\\u202e``)."""
    value = str(text)
    return _UNPRINTABLE.sub(lambda m: ascii(m.group(0))[1:-1], value) if _UNPRINTABLE.search(value) else value


def _clock(ns: int | None) -> str:
    if not ns:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:.1f}{unit}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, a rule under the header; stored strings made safe to print."""
    rows = [[safe(cell) for cell in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def one_line(text: str, width: int = LOG_WIDTH) -> str:
    """A log body on one line: its first line (Lambda joins traceback lines with CR), cut to ``width``."""
    lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
    first = lines[0] if lines else ""
    if len(first) > width:
        return first[: width - 2] + " …"
    return first + (" …" if len(lines) > 1 else "")


def _cold(value: bool | None) -> str:
    return "-" if value is None else ("cold" if value else "warm")


def _status(row: Mapping[str, Any]) -> str:
    status = str(row["status"]).upper()
    return f"{status} ({row['error_type']})" if row.get("error_type") and row["status"] != "ok" else status


def invocations_table(rows: Sequence[Mapping[str, Any]]) -> str:
    headers = (
        "START (UTC)",
        "FUNCTION",
        "REQUEST ID",
        "DURATION",
        "BILLED",
        "START",
        "MEMORY",
        "STATUS",
        "TRIGGER",
    )
    body = [
        (
            _clock(r["start_ns"]),
            str(r["function"] or "-"),
            str(r["request_id"]),
            _num(r["duration_ms"], " ms"),
            _num(r["billed_ms"], " ms"),
            _cold(r["cold_start"]),
            f"{_num(r['memory_used_mb'])}/{_num(r['memory_size_mb'])} MB",
            _status(r),
            str(r["trigger"] or "-"),
        )
        for r in rows
    ]
    return table(headers, body)


def _tree(spans: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    from zerolag.collector.svg import span_tree_order

    return span_tree_order(spans)


def waterfall_text(spans: Sequence[Mapping[str, Any]]) -> str:
    """The span tree with a bar per span on a shared time axis; failed spans marked with ``!``."""
    rows = _tree(spans)
    if not rows:
        return "(no spans)"
    t0 = min(s["start_ns"] for _, s in rows)
    total = max(max(s["end_ns"] for _, s in rows) - t0, 1)
    body = []
    for depth, span in rows:
        left = round(BAR_WIDTH * (span["start_ns"] - t0) / total)
        width = max(1, round(BAR_WIDTH * (span["end_ns"] - span["start_ns"]) / total))
        bar = (" " * left + "#" * width).ljust(BAR_WIDTH)[:BAR_WIDTH]
        mark = "!" if span["status_code"] == 2 else " "
        name = "  " * depth + str(span["name"])
        events = f"  [{len(span['events'])} event(s)]" if span.get("events") else ""
        body.append(
            (f"{mark} {name}", f"|{bar}|", f"{(span['end_ns'] - span['start_ns']) / 1e6:.2f} ms{events}")
        )
    return table(("SPAN", "TIMELINE", "DURATION"), body)


def detail_text(detail: Mapping[str, Any]) -> str:
    inv = detail["invocation"]
    facts = [
        ("Function", inv["function"] or "-"),
        ("Request id", inv["request_id"]),
        ("Trace id", inv["trace_id"] or "-"),
        ("Start (UTC)", _clock(inv["start_ns"])),
        ("Duration", _num(inv["duration_ms"], " ms")),
        ("Billed", _num(inv["billed_ms"], " ms")),
        (
            "Start type",
            _cold(inv["cold_start"]) + (f" (init {_num(inv['init_ms'], ' ms')})" if inv["init_ms"] else ""),
        ),
        ("Memory", f"{_num(inv['memory_used_mb'])} / {_num(inv['memory_size_mb'])} MB"),
        ("Status", _status(inv)),
        ("Trigger", inv["trigger"] or "-"),
    ]
    width = max(len(k) for k, _ in facts)
    parts = [
        "\n".join(f"{k.ljust(width)}  {safe(v)}" for k, v in facts),
        "",
        waterfall_text(detail["spans"]),
        "",
    ]
    logs = [
        (_clock(r["time_ns"]), str(r["severity_text"] or r["severity_number"] or ""), one_line(r["body"]))
        for r in detail["logs"]
    ]
    parts.append(table(("TIME (UTC)", "LEVEL", "LOG"), logs) if logs else "(no logs)")
    metrics = [(m["name"], f"{m['value']:.3f}", m["unit"]) for m in detail["metrics"]]
    parts += ["", table(("METRIC", "VALUE", "UNIT"), metrics) if metrics else "(no metrics)"]
    return "\n".join(parts)
