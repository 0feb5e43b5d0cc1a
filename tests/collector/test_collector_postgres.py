"""The PostgreSQL store against a real PostgreSQL server: the same answers as SQLite for the same data,
several stateless collectors on one database, retention, and the CLI reading it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from collector_client import READ_KEY, Client, make_config
from collector_payloads import MS, T0, function_logs, invocation_trace, platform_metrics

from zerolag.cli.main import cli
from zerolag.collector import Collector, Store, queries, series
from zerolag.collector.pgstore import PostgresStore
from zerolag.collector.records import Rows, log_rows, metric_rows, trace_rows
from zerolag.collector.store import DataStore, open_store

HOUR = 3600 * 1_000_000_000


def workload() -> list[Rows]:
    """Every kind of row and invocation fact: cold/warm, error, timeout, platform metrics, logs, events."""
    out = [
        trace_rows(invocation_trace("api", "r-cold", start_ns=T0, cold_start=True, duration_ms=300), T0),
        metric_rows(platform_metrics("api", "r-cold", time_ns=T0 + 300 * MS, billed_ms=301, init_ms=250), T0),
        trace_rows(invocation_trace("api", "r-warm", start_ns=T0 + 1000 * MS, duration_ms=20), T0),
        metric_rows(platform_metrics("api", "r-warm", time_ns=T0 + 1020 * MS, billed_ms=21), T0),
        log_rows(function_logs("api", "r-warm", ["start", "done"], time_ns=T0 + 1001 * MS), T0),
        trace_rows(
            invocation_trace(
                "worker", "r-err", start_ns=T0 + 2000 * MS, status="error", error_type="KeyError"
            ),
            T0,
        ),
        trace_rows(
            invocation_trace(
                "slow", "r-late", start_ns=T0 + 3000 * MS, status="timeout", error_type="Sandbox.Timedout"
            ),
            T0,
        ),
    ]
    out.append(out[0])  # a resent request: duplicate spans add nothing, facts merge the same
    return out


def answers(store: DataStore) -> dict[str, Any]:
    with store.reader() as db:
        return {
            "functions": queries.functions(db),
            "all": queries.invocations(db, queries.Filters()),
            "errors": queries.invocations(db, queries.Filters(status="error")),
            "cold": queries.invocations(db, queries.Filters(cold_start=True)),
            "before": queries.invocations(db, queries.Filters(before_ns=T0 + 1500 * MS, limit=1)),
            "detail": queries.detail(db, "r-warm"),
            "by_trace": queries.detail(db, queries.invocation(db, "r-err")["trace_id"]),  # type: ignore[index]
            "buckets": [b.as_dict() for b in series.buckets(db, count=3)],
            "api_buckets": [b.as_dict() for b in series.buckets(db, function="api", count=2)],
        }


def test_postgresql_answers_every_query_as_sqlite_does(tmp_path: Path, postgres_url: str) -> None:
    """The viewer's queries give identical results on both stores for the same data."""
    with Store(tmp_path / "db") as sqlite:
        for rows in workload():
            sqlite.ingest(rows)
        expected = answers(sqlite)
    pg = open_store(postgres_url)
    try:
        assert isinstance(pg, PostgresStore)
        for rows in workload():
            pg.ingest(rows)
        got = answers(pg)
    finally:
        pg.close()
    assert expected["all"], "the workload stored nothing"
    assert expected["detail"]["spans"][1]["events"], "the workload has no span events"
    for key in expected:
        assert got[key] == expected[key], key


def test_text_postgresql_refuses_is_stored_not_refused(postgres_url: str) -> None:
    """NUL characters (valid in OTLP strings, refused by PostgreSQL text) become U+FFFD."""
    request = invocation_trace("fn\x00x", "r\x00nul")
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] = "a\x00b"
    store = open_store(postgres_url)
    try:
        store.ingest(trace_rows(request, T0))
        with store.reader() as db:
            names = [r["name"] for r in db.execute("SELECT name FROM spans WHERE name LIKE 'a%'")]
            inv = queries.invocation(db, "r\ufffdnul")
    finally:
        store.close()
    assert names == ["a\ufffdb"]
    assert inv is not None
    assert inv["function"] == "fn\ufffdx"


def test_two_collectors_on_one_database_serve_the_same_data(tmp_path: Path, postgres_url: str) -> None:
    """Spans to one collector and platform metrics to the other, concurrently, for the same invocations:
    both collectors then show every invocation, merged whole, with nothing lost."""
    n = 30
    config_a = make_config(tmp_path / "a", store=postgres_url)
    config_b = make_config(tmp_path / "b", store=postgres_url)
    with Collector(config_a) as a, Collector(config_b) as b:
        failures: list[Any] = []

        def send(collector: Collector, signal: str, build: Any) -> None:
            client = Client(collector)
            for i in range(n):
                status, _, body = client.export(signal, build(i))
                if status != 200:
                    failures.append((signal, i, status, body))

        traces = threading.Thread(
            target=send,
            args=(a, "traces", lambda i: invocation_trace("api", f"r{i}", start_ns=T0 + i * 1000 * MS)),
        )
        metrics = threading.Thread(
            target=send,
            args=(
                b,
                "metrics",
                lambda i: platform_metrics("api", f"r{i}", time_ns=T0 + i * 1000 * MS + 5, billed_ms=100 + i),
            ),
        )
        for t in (traces, metrics):
            t.start()
        for t in (traces, metrics):
            t.join(120)
        assert not failures
        seen = [Client(c).get_json("/api/invocations?limit=100")["invocations"] for c in (a, b)]
        assert seen[0] == seen[1]
        assert len(seen[0]) == n
        assert sorted(inv["billed_ms"] for inv in seen[0]) == [100.0 + i for i in range(n)]
        assert all(inv["trace_id"] and inv["duration_ms"] for inv in seen[0])
        detail = Client(b).get_json("/api/invocations/r7")
        assert len(detail["spans"]) == 3
        assert b.store.description.startswith("PostgreSQL")
        assert "***" not in b.store.description or "@" in b.store.description


def fill(
    store: DataStore, n: int, *, start: int = T0, step: int = HOUR, lines: int = 5, prefix: str = "r"
) -> None:
    for i in range(n):
        rid, t = f"{prefix}{i}", start + i * step
        store.ingest(trace_rows(invocation_trace("fn", rid, start_ns=t), t))
        store.ingest(metric_rows(platform_metrics("fn", rid, time_ns=t), t))
        store.ingest(log_rows(function_logs("fn", rid, ["x" * 200] * lines, time_ns=t), t))


def count(store: DataStore, sql: str) -> int:
    with store.reader() as db:
        return int(db.execute(sql).fetchone()[0])


def test_retention_by_age_and_by_size_on_postgresql(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        fill(store, 10)
        outcome = store.enforce_retention(now_ns=T0 + 10 * HOUR, max_age_ns=5 * HOUR + 1, max_bytes=None)
        assert outcome.deleted_rows > 0
        with store.reader() as db:
            kept = [r[0] for r in db.execute("SELECT request_id FROM invocations ORDER BY start_ns")]
        assert kept == ["r5", "r6", "r7", "r8", "r9"]
        assert count(store, "SELECT COUNT(*) FROM spans") == 15
        assert (
            count(store, "SELECT COUNT(*) FROM span_events WHERE span_pk NOT IN (SELECT id FROM spans)") == 0
        )

        fill(store, 40, start=T0 + 20 * HOUR, step=MS * 1000, lines=40, prefix="s")
        before = store.used_bytes()
        outcome = store.enforce_retention(now_ns=T0, max_age_ns=None, max_bytes=before // 3)
        assert outcome.used_bytes <= before // 3
        remaining = count(store, "SELECT COUNT(*) FROM invocations")
        assert 0 < remaining < 45
        assert count(store, "SELECT COUNT(*) FROM invocations WHERE request_id = 's39'") == 1  # newest stays
    finally:
        store.close()


def test_traces_cli_reads_postgresql(postgres_url: str) -> None:
    store = open_store(postgres_url)
    try:
        for rows in workload():
            store.ingest(rows)
    finally:
        store.close()
    runner = CliRunner()
    listed = runner.invoke(cli, ["traces", "--store", postgres_url, "list"], catch_exceptions=False)
    assert listed.exit_code == 0, listed.output
    assert "r-late" in listed.output
    assert "TIMEOUT (Sandbox.Timedout)" in listed.output
    shown = runner.invoke(cli, ["traces", "--store", postgres_url, "show", "r-warm"], catch_exceptions=False)
    assert shown.exit_code == 0, shown.output
    assert "Billed       21.0 ms" in shown.output


def test_collector_serve_takes_a_postgresql_store(tmp_path: Path, postgres_url: str) -> None:
    """``zerolag collector serve --store postgresql://...`` ingests into PostgreSQL and says where."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "zerolag.cli.main",
            "collector",
            "serve",
            "--port",
            "0",
            "--store",
            postgres_url,
            "--ingest-key",
            "k1",
            "--read-key",
            READ_KEY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split()[3]
        store_line = proc.stdout.readline()
        assert "PostgreSQL" in store_line
        import urllib.request

        request = urllib.request.Request(
            f"{url}/v1/traces",
            data=json.dumps(invocation_trace("cli", "r-cli")).encode(),
            headers={"Content-Type": "application/json", "X-Api-Key": "k1"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    finally:
        proc.terminate()
        proc.wait(30)
    store = open_store(postgres_url)
    try:
        assert count(store, "SELECT COUNT(*) FROM invocations WHERE request_id = 'r-cli'") == 1
    finally:
        store.close()


@pytest.mark.parametrize("bad", ["mysql://x/y", "postgresql://nobody@/none?host=/nonexistent"])
def test_a_bad_store_url_fails_clearly(bad: str) -> None:
    with pytest.raises(Exception) as caught:
        open_store(bad)
    assert "postgresql" in str(caught.value).lower() or "connect" in str(caught.value).lower()


def test_a_database_that_goes_away_gets_retryable_503s_and_recovers(tmp_path: Path) -> None:
    """PostgreSQL down: exports get 503 (retryable, nothing half-stored), the viewer 503, never a 500;
    back up: the same collector stores again without a restart."""
    from pg_server import PostgresServer

    server = PostgresServer().start()
    try:
        url = server.create_database("flaky")
        with Collector(make_config(tmp_path, store=url)) as collector:
            client = Client(collector)
            assert client.export("traces", invocation_trace("fn", "before"))[0] == 200
            server.pg_ctl("stop", "-m", "fast")
            status, headers, _ = client.export("traces", invocation_trace("fn", "during"))
            assert status == 503
            assert headers.get("retry-after")
            for path in ("/api/invocations", "/", "/api/functions", "/invocations", "/search?q=x", "/logs",
                         "/metrics", "/dependencies", "/traces/" + "ab" * 16, "/api/charts"):  # fmt: skip
                assert client.request("GET", path, headers={"X-Api-Key": READ_KEY})[0] == 503, path
            assert client.request("GET", "/static/live.js")[0] == 200  # needs no store
            server.pg_ctl("start")
            assert client.export("traces", invocation_trace("fn", "after"))[0] == 200
            ids = {i["request_id"] for i in client.get_json("/api/invocations")["invocations"]}
            assert ids == {"before", "after"}
    finally:
        server.stop()
