"""Ingest from many concurrent clients loses nothing and keeps every request whole."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from collector_client import Client
from collector_payloads import function_logs, invocation_trace, platform_metrics

from zerolag.collector import Collector

THREADS = 16
PER_THREAD = 15


def test_concurrent_ingest_loses_nothing(client: Client, collector: Collector) -> None:
    """16 threads each send 15 invocations (traces, metrics, logs) at once; every item is stored once."""

    def worker(t: int) -> list[int]:
        statuses = []
        for i in range(PER_THREAD):
            rid = f"r-{t}-{i}"
            statuses.append(
                client.export("traces", invocation_trace(f"fn{t % 3}", rid), gzipped=i % 2 == 0)[0]
            )
            statuses.append(client.export("metrics", platform_metrics(f"fn{t % 3}", rid))[0])
            statuses.append(client.export("logs", function_logs(f"fn{t % 3}", rid, ["a", "b"]))[0])
        return statuses

    with ThreadPoolExecutor(THREADS) as pool:
        results = [s for statuses in pool.map(worker, range(THREADS)) for s in statuses]
    assert set(results) == {200}
    n = THREADS * PER_THREAD
    db = sqlite3.connect(collector.config.db_path)
    try:
        got = {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("invocations", "spans", "span_events", "logs", "metric_points")
        }
        merged = db.execute(
            "SELECT COUNT(*) FROM invocations WHERE billed_ms IS NOT NULL AND trigger = 'http'"
        )
        assert merged.fetchone()[0] == n
    finally:
        db.close()
    assert got == {"invocations": n, "spans": 3 * n, "span_events": n, "logs": 2 * n, "metric_points": 3 * n}


def test_readers_run_while_writers_write(client: Client) -> None:
    """The viewer's API answers while ingest is busy (WAL: readers are not blocked by the writer)."""

    def write(t: int) -> int:
        return sum(client.export("traces", invocation_trace("fn", f"w-{t}-{i}"))[0] == 200 for i in range(20))

    def read(_: int) -> int:
        return sum(len(client.get_json("/api/invocations?limit=5")["invocations"]) <= 5 for _ in range(20))

    with ThreadPoolExecutor(8) as pool:
        writes = pool.map(write, range(4))
        reads = pool.map(read, range(4))
        assert sum(writes) == 80
        assert sum(reads) == 80
    assert len(client.get_json("/api/invocations?limit=1000")["invocations"]) == 80
