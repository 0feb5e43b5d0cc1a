"""The viewer's GET routes: pages and their JSON twins, each over a time range (``?since=&until=``).

``route(db, path, query, now_ns)`` answers one read; ``zerolag.collector.app`` calls it behind the key
check. Bad input (a range, a number, a search) is a 400 with a message, never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Final
from urllib.parse import quote, unquote, urlencode

from zerolag.collector import pages, queries, series
from zerolag.collector.db import Reader
from zerolag.collector.viewer import (
    dependencies,
    functions,
    range_pages,
    search,
    telemetry,
    trace,
    trace_page,
)
from zerolag.collector.viewer.timerange import RangeError, TimeRange, parse

HTML: Final = "text/html; charset=utf-8"
JSON: Final = "application/json"
_DIGITS: Final = re.compile(r"[0-9]{1,19}")  # ASCII only: str.isdigit() also accepts "²", int() "١٢٣"


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


class BadRequest(ValueError):
    """Input a route refuses with 400."""


Query = Mapping[str, str]
Handler = Callable[[Reader, Query, int], Reply]


def route(db: Reader, path: str, query: Query, now_ns: int) -> Reply | None:
    """The answer for ``path``, or ``None`` when the viewer has no such route."""
    api = path.startswith("/api/")
    try:
        for prefix, handler in _PREFIXED:
            if path.startswith(prefix) and len(path) > len(prefix):
                return handler(db, {**query, "_id": unquote(path.removeprefix(prefix))}, now_ns)
        exact = _ROUTES.get(path)
        return None if exact is None else exact(db, query, now_ns)
    except (RangeError, BadRequest, search.SearchError) as exc:
        if api:
            return json_reply(400, {"error": str(exc)})
        return html_reply(400, pages.layout("Bad request", f"<h2>Bad request</h2><p>{escape(str(exc))}</p>"))


def html_reply(status: int, page: str) -> Reply:
    return Reply(status, HTML, page.encode())


def json_reply(status: int, value: object) -> Reply:
    return Reply(status, JSON, json.dumps(value, default=str).encode())


def _range(query: Query, now_ns: int) -> TimeRange:
    return parse(query.get("since"), query.get("until"), now_ns)


def _int(value: str | None, default: int, name: str) -> int:
    if not value:
        return default
    try:
        return max(1, min(int(value), 10_000))
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number") from exc


def _before(query: Query) -> int | None:
    before = query.get("before", "")
    if not before:
        return None
    if not _DIGITS.fullmatch(before) or int(before) >= 2**63:
        raise BadRequest("before must be a time in ns")
    return int(before)


# --- overview ----------------------------------------------------------------------------------------------
def _overview(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    rows = functions.overview(db, rng)
    return html_reply(200, range_pages.overview_page(rows, functions.totals(rows), rng))


def _api_functions(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    rows = functions.overview(db, rng)
    return json_reply(200, {**rng.as_dict(), "functions": [r.as_dict() for r in rows]})


# --- invocations and search --------------------------------------------------------------------------------
def invocation_filters(query: Query, rng: TimeRange | None) -> queries.Filters:
    cold = query.get("cold_start", "").lower()
    status = query.get("status") or None
    return queries.Filters(
        function=query.get("function") or None,
        status=status if status in queries.STATUSES else None,
        cold_start={"true": True, "false": False}.get(cold),
        limit=_int(query.get("limit"), 100, "limit"),
        before_ns=_before(query),
        since_ns=None if rng is None else rng.since_ns,
        until_ns=None if rng is None else rng.until_ns,
    )


def _matches(db: Reader, text: str, rng: TimeRange) -> tuple[tuple[str, ...] | None, str]:
    """The request ids a search names (``None``: no search) and a line saying what matched."""
    if not text.strip():
        return None, ""
    q = search.classify(text)
    ids = tuple(search.request_ids(db, q, rng))
    return ids, range_pages.search_note(q.kind, q.text, len(ids))


def _invocations(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    text = query.get("q", "")
    ids, note = _matches(db, text, rng)
    filters = invocation_filters(query, rng)
    if ids is not None:
        filters = queries.Filters(**{**filters.__dict__, "request_ids": ids})
        if search.classify(text).kind == "trace_id":  # a trace is found whenever it happened
            filters = queries.Filters(**{**filters.__dict__, "since_ns": None, "until_ns": None})
    rows = queries.invocations(db, filters)
    return html_reply(200, pages.invocations_page(rows, queries.functions(db), filters, rng, text, note))


def _api_invocations(db: Reader, query: Query, now_ns: int) -> Reply:
    """Without ``since``/``until`` every stored invocation qualifies (as before ranges existed)."""
    ranged = bool(query.get("since") or query.get("until"))
    rng = _range(query, now_ns) if ranged or query.get("q") else None
    filters = invocation_filters(query, rng if ranged else None)
    if query.get("q") and rng is not None:
        ids, _ = _matches(db, query["q"], rng)
        filters = queries.Filters(**{**filters.__dict__, "request_ids": ids})
    return json_reply(200, {"invocations": queries.invocations(db, filters)})


def _search(db: Reader, query: Query, now_ns: int) -> Reply:
    """The search box: straight to an invocation or a trace when the text names one, else the matches."""
    text = query.get("q", "").strip()
    rng = _range(query, now_ns)
    q = search.classify(text)
    if text and (rid := search.exact_request_id(db, text)) is not None:
        return _redirect(f"/invocations/{quote(rid, safe='')}")
    if q.kind == "trace_id" and search.trace_exists(db, q.text):
        return _redirect(f"/traces/{q.text}")
    return _redirect("/invocations?" + urlencode({**rng.query(), "q": text}))


def _redirect(location: str) -> Reply:
    return Reply(303, "text/plain", b"", [("Location", location)])


# --- one invocation, one trace -----------------------------------------------------------------------------
def _detail(db: Reader, query: Query, now_ns: int) -> dict[str, object] | None:
    found = queries.detail(db, query["_id"])
    if found is None:
        return None
    inv = found["invocation"]
    found["trace_functions"] = (
        []
        if not inv["trace_id"]
        else [
            row[0]
            for row in db.execute(
                "SELECT DISTINCT function FROM spans WHERE trace_id = ? AND function IS NOT NULL AND "
                "function <> ? "
                "ORDER BY function",
                (inv["trace_id"], inv["function"] or ""),
            )
        ]
    )
    return found


def _invocation(db: Reader, query: Query, now_ns: int) -> Reply:
    found = _detail(db, query, now_ns)
    if found is None:
        return html_reply(404, pages.not_found_page("No such invocation."))
    return html_reply(200, pages.detail_page(found))


def _api_invocation(db: Reader, query: Query, now_ns: int) -> Reply:
    found = _detail(db, query, now_ns)
    return json_reply(404, {"error": "no such invocation"}) if found is None else json_reply(200, found)


def _trace(db: Reader, query: Query, now_ns: int) -> Reply:
    found = trace.trace(db, query["_id"].lower())
    if found is None:
        return html_reply(404, pages.not_found_page("No spans with that trace id."))
    return html_reply(200, trace_page.trace_page(found))


def _api_trace(db: Reader, query: Query, now_ns: int) -> Reply:
    found = trace.trace(db, query["_id"].lower())
    return json_reply(404, {"error": "no such trace"}) if found is None else json_reply(200, found)


# --- dependencies, logs, metrics, charts -------------------------------------------------------------------
def _dependencies(db: Reader, query: Query, now_ns: int) -> Reply:
    rng, function = _range(query, now_ns), query.get("function") or None
    result = dependencies.dependencies(db, rng, function)
    return html_reply(200, range_pages.dependencies_page(result, queries.functions(db), function, rng))


def _api_dependencies(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    result = dependencies.dependencies(db, rng, query.get("function") or None)
    deps = [d.as_dict() for d in result.dependencies]
    return json_reply(200, {**rng.as_dict(), "sampled": result.sampled, "dependencies": deps})


def _log_filters(query: Query) -> telemetry.LogFilters:
    severity = query.get("severity") or None
    if severity and severity not in {k for k, _, _ in telemetry.SEVERITIES}:
        raise BadRequest("severity must be one of debug, info, warn, error, fatal")
    text = query.get("text") or None
    if text and len(text) > search.MAX_QUERY:
        raise BadRequest(f"text may be at most {search.MAX_QUERY} characters")
    return telemetry.LogFilters(
        function=query.get("function") or None,
        severity=severity,
        text=text,
        limit=_int(query.get("limit"), 200, "limit"),
        before_ns=_before(query),
    )


def _logs(db: Reader, query: Query, now_ns: int) -> Reply:
    rng, f = _range(query, now_ns), _log_filters(query)
    rows = telemetry.logs(db, rng, f)
    return html_reply(200, range_pages.logs_page(rows, queries.functions(db), f, rng))


def _api_logs(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    return json_reply(200, {**rng.as_dict(), "logs": telemetry.logs(db, rng, _log_filters(query))})


def _metrics(db: Reader, query: Query, now_ns: int) -> Reply:
    rng, function = _range(query, now_ns), query.get("function") or None
    found = telemetry.metric_series(db, rng, function)
    return html_reply(200, range_pages.metrics_page(found, queries.functions(db), function, rng))


def _api_metrics(db: Reader, query: Query, now_ns: int) -> Reply:
    rng = _range(query, now_ns)
    found = telemetry.metric_series(db, rng, query.get("function") or None, query.get("name") or None)
    return json_reply(200, {**rng.as_dict(), "metrics": [s.as_dict() for s in found]})


def _chart_buckets(db: Reader, query: Query, rng: TimeRange | None) -> list[series.Bucket]:
    count = _int(query.get("buckets"), 30, "buckets") if query.get("buckets") else None
    function = query.get("function") or None
    if rng is None:  # the whole store
        return series.buckets(db, function=function, count=count)
    return series.buckets(db, function=function, count=count, since_ns=rng.since_ns, until_ns=rng.until_ns)


def _charts(db: Reader, query: Query, now_ns: int) -> Reply:
    rng, function = _range(query, now_ns), query.get("function") or None
    buckets = _chart_buckets(db, query, rng)
    return html_reply(200, pages.charts_page(buckets, queries.functions(db), function, rng))


def _api_charts(db: Reader, query: Query, now_ns: int) -> Reply:
    """``?since=&until=`` as everywhere; the older ``?hours=H`` (the last H hours) still works."""
    rng = _range(query, now_ns) if (query.get("since") or query.get("until")) else None
    if rng is None and query.get("hours"):
        try:
            hours = float(query["hours"])
        except ValueError as exc:
            raise BadRequest("hours must be a number") from exc
        if not 0 < hours < 1e6:
            raise BadRequest("hours must be between 0 and 1e6")
        rng = TimeRange(now_ns - int(hours * 3600e9), now_ns + 1, f"{hours}h", "")
    buckets = _chart_buckets(db, query, rng)
    return json_reply(200, {"buckets": [b.as_dict() for b in buckets]})


_ROUTES: Final[dict[str, Handler]] = {
    "/": _overview,
    "/invocations": _invocations,
    "/search": _search,
    "/dependencies": _dependencies,
    "/logs": _logs,
    "/metrics": _metrics,
    "/charts": _charts,
    "/api/functions": _api_functions,
    "/api/invocations": _api_invocations,
    "/api/dependencies": _api_dependencies,
    "/api/logs": _api_logs,
    "/api/metrics": _api_metrics,
    "/api/charts": _api_charts,
}
_PREFIXED: Final[tuple[tuple[str, Handler], ...]] = (
    ("/invocations/", _invocation),
    ("/traces/", _trace),
    ("/api/invocations/", _api_invocation),
    ("/api/traces/", _api_trace),
)
