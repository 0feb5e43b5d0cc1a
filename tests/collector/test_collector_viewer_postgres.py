"""The viewer's range queries (overview, search of every kind, cross-function traces with links,
dependencies, logs, metrics, ranged invocations and charts) answer alike on SQLite and on a real PostgreSQL
server, and span links live and die with their spans on both stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import viewer_payloads as vp
from collector_payloads import MS, T0, hex_id, resource

from zerolag.collector import Store, queries, series
from zerolag.collector.records import Rows, log_rows, metric_rows, trace_rows
from zerolag.collector.store import DataStore, open_store
from zerolag.collector.viewer import dependencies, functions, search, telemetry, trace
from zerolag.collector.viewer.timerange import parse

MIN = 60_000 * MS
NOW = T0 + 10 * MIN
CROSS = hex_id("cross-trace", 16)
OLDER = hex_id("older-trace", 16)


def viewer_workload() -> list[Rows]:
    """``api`` (x86: 6 invocations, one cold, one failed, one failed HTTP call, extension time), ``resizer``
    (arm64), a trace crossing ``checkout`` → SNS → ``mailer`` that links to an older trace, logs in mixed
    case, a custom metric, and a span with non-ASCII attributes."""
    out = []
    for i in range(6):
        rid, at = f"api-{i}", T0 + i * 1000 * MS
        failed = "error" if i == 3 else ("http" if i == 4 else None)
        spans = vp.invocation("api", rid, at, 100.0 + 10 * i, cold=i == 0, failed=failed)
        if i == 5:
            charge = {"faas.invocation_id": rid, "customer": "Zoë Ångström", "größe": 42, "paid": True}
            spans.append(
                vp.span(rid, rid + "uni", "charge", at + 2 * MS, 1, parent=rid + "root", attributes=charge)
            )
        out.append(trace_rows(vp.traces(resource("api"), spans), NOW))
        init = 250.0 if i == 0 else None
        metrics = vp.platform("api", rid, at, billed=200, size=512, used=100 + i, post_ms=4.0, init=init)
        out.append(metric_rows(metrics, NOW))
        out.append(metric_rows(vp.custom_metric("api", "orders.placed", at, float(i)), NOW))
    for i in range(2):
        rid, at = f"rs-{i}", T0 + 2 * MIN + i * MS
        out.append(
            trace_rows(vp.traces(vp.arm_resource("resizer"), vp.invocation("resizer", rid, at, 900)), NOW)
        )
        out.append(metric_rows(vp.platform("resizer", rid, at, billed=1000, size=2048, used=900), NOW))
    producer, consumer = vp.crossing_trace(T0 + 3 * MIN)
    older = vp.traces(resource("batcher"), [vp.span("older-trace", "older", "batch", T0 + MIN, 5, kind=2)])
    out += [trace_rows(producer, NOW), trace_rows(consumer, NOW), trace_rows(older, NOW)]
    lines = [(9, "Order accepted"), (13, "retrying DONE soon"), (17, "payment failed: card declined")]
    out.append(log_rows(vp.logs("api", "api-4", T0 + 4000 * MS, lines), NOW))
    out.append(out[0])  # a resent request adds nothing
    return out


def viewer_answers(store: DataStore) -> dict[str, Any]:
    rng = parse("1h", None, NOW)
    narrow = parse(str(T0 + 500 * MS), str(T0 + 3500 * MS), NOW)
    out: dict[str, Any] = {}
    with store.reader() as db:
        rows = functions.overview(db, rng)
        out["overview"] = [r.as_dict() for r in rows]
        out["totals"] = functions.totals(rows)
        out["overview_narrow"] = [r.as_dict() for r in functions.overview(db, narrow)]
        for text in (
            CROSS,
            "customer=Zoë Ångström",
            "größe=42",
            "paid=true",
            "rpc.service=DynamoDB",
            "faas.name=api",  # a resource attribute
            "done",  # log text, another case than stored
            "CARD DECLINED",
            "api-2",  # a request id
            "nothing-matches-this",
        ):
            out[f"search {text}"] = sorted(search.request_ids(db, search.classify(text), rng))
        out["exact"] = search.exact_request_id(db, "api-2")
        out["trace_exists"] = search.trace_exists(db, CROSS)
        out["trace"] = trace.trace(db, CROSS)
        out["older"] = trace.trace(db, OLDER)
        deps = dependencies.dependencies(db, rng)
        out["dependencies"] = ([d.as_dict() for d in deps.dependencies], deps.sampled)
        out["dependencies_api"] = [
            d.as_dict() for d in dependencies.dependencies(db, rng, "api").dependencies
        ]
        out["logs"] = telemetry.logs(db, rng, telemetry.LogFilters())
        out["logs_warn"] = telemetry.logs(db, rng, telemetry.LogFilters(function="api", severity="warn"))
        out["logs_text"] = telemetry.logs(db, rng, telemetry.LogFilters(text="order"))
        out["logs_before"] = telemetry.logs(db, rng, telemetry.LogFilters(before_ns=T0 + 4001 * MS, limit=1))
        out["metrics"] = [s.as_dict() for s in telemetry.metric_series(db, rng, None)]
        out["metrics_one"] = [
            s.as_dict() for s in telemetry.metric_series(db, narrow, "api", "orders.placed")
        ]
        out["metric_names"] = telemetry.metric_names(db, rng, "api")
        ranged = queries.Filters(since_ns=narrow.since_ns, until_ns=narrow.until_ns)
        out["invocations_ranged"] = queries.invocations(db, ranged)
        out["invocations_ids"] = queries.invocations(db, queries.Filters(request_ids=("api-1", "co-1")))
        out["buckets_until"] = [
            b.as_dict() for b in series.buckets(db, count=4, since_ns=T0, until_ns=T0 + 3 * MIN)
        ]
        out["detail_links"] = queries.detail(db, "ml-1")
    return out


def test_postgresql_answers_every_viewer_query_as_sqlite_does(tmp_path: Path, postgres_url: str) -> None:
    with Store(tmp_path / "db") as sqlite:
        for rows in viewer_workload():
            sqlite.ingest(rows)
        expected = viewer_answers(sqlite)
    pg = open_store(postgres_url)
    try:
        for rows in viewer_workload():
            pg.ingest(rows)
        got = viewer_answers(pg)
    finally:
        pg.close()
    # the workload exercises what it claims to
    assert [r["function"] for r in expected["overview"]] == ["api", "checkout", "mailer", "resizer"]
    assert expected["overview"][0]["cold_starts"] == 1
    assert expected["overview"][0]["telemetry_invocations"] == 6
    assert expected["search customer=Zoë Ångström"] == ["api-5"]
    assert expected["search größe=42"] == ["api-5"]
    assert expected["search paid=true"] == ["api-5"]
    assert expected["search done"] == ["api-4"]
    assert expected["search CARD DECLINED"] == ["api-4"]
    assert expected["search " + CROSS] == ["co-1", "ml-1"]
    assert expected["trace"]["linked_to"] == [OLDER]
    assert expected["older"]["linked_from"] == [CROSS]
    assert {d["kind"] for d in expected["dependencies"][0]} >= {"dynamodb", "s3", "http", "sns"}
    assert any(v is not None for s in expected["metrics"] for v in (b["value"] for b in s["buckets"]))
    assert expected["logs_text"]
    assert expected["logs_before"]
    for key in expected:
        assert got[key] == expected[key], key


def _link_count(store: DataStore) -> int:
    with store.reader() as db:
        return int(db.execute("SELECT COUNT(*) FROM span_links").fetchone()[0])


def test_span_links_are_stored_and_deleted_with_their_spans_on_both_stores(
    tmp_path: Path, postgres_url: str
) -> None:
    """A consumer's link is written on either store (once, however often the span is resent); retention
    removes it with its span."""
    _, consumer = vp.crossing_trace(T0)
    for store in (Store(tmp_path / "db"), open_store(postgres_url)):
        try:
            store.ingest(trace_rows(consumer, NOW))
            store.ingest(trace_rows(consumer, NOW))
            assert _link_count(store) == 1, store
            store.enforce_retention(now_ns=NOW + 86_400 * 10**9, max_age_ns=3600 * 10**9, max_bytes=None)
            assert _link_count(store) == 0, store
        finally:
            store.close()
