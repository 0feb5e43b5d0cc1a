"""Retention by age and by size, on the store directly and through the collector's configured pass."""

from __future__ import annotations

from pathlib import Path

from collector_client import Client, make_config
from collector_payloads import MS, T0, function_logs, invocation_trace, platform_metrics

from zerolag.collector import Collector, Store
from zerolag.collector.records import log_rows, metric_rows, trace_rows

HOUR = 3600 * 1_000_000_000


def fill(store: Store, n: int, *, start: int = T0, step: int = HOUR, lines: int = 5) -> None:
    for i in range(n):
        rid, t = f"r{i}", start + i * step
        store.ingest(trace_rows(invocation_trace("fn", rid, start_ns=t), t))
        store.ingest(metric_rows(platform_metrics("fn", rid, time_ns=t), t))
        store.ingest(log_rows(function_logs("fn", rid, ["x" * 200] * lines, time_ns=t), t))


def count(store: Store, table: str) -> int:
    with store.reader() as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_age_retention_deletes_only_old_data(tmp_path: Path) -> None:
    """Everything older than the age limit goes (events with their spans); newer data stays."""
    with Store(tmp_path / "db") as store:
        fill(store, 10)  # r0 at T0 ... r9 at T0 + 9h
        outcome = store.enforce_retention(now_ns=T0 + 10 * HOUR, max_age_ns=5 * HOUR + 1, max_bytes=None)
        assert outcome.deleted_rows > 0
        with store.reader() as db:
            kept = [r[0] for r in db.execute("SELECT request_id FROM invocations ORDER BY start_ns")]
            orphans = db.execute(
                "SELECT COUNT(*) FROM span_events WHERE span_pk NOT IN (SELECT id FROM spans)"
            ).fetchone()[0]
        assert kept == ["r5", "r6", "r7", "r8", "r9"]
        assert count(store, "spans") == 15
        assert count(store, "logs") == 25
        assert count(store, "metric_points") == 15
        assert orphans == 0


def test_size_retention_drops_oldest_until_under_limit(tmp_path: Path) -> None:
    """Over the size limit, the oldest data is dropped until the live pages fit; the newest stays."""
    with Store(tmp_path / "db") as store:
        fill(store, 60, step=MS * 1000, lines=40)
        before = store.used_bytes()
        limit = before // 3
        outcome = store.enforce_retention(now_ns=T0, max_age_ns=None, max_bytes=limit)
        assert outcome.used_bytes <= limit
        remaining = count(store, "invocations")
        assert 0 < remaining < 60
        with store.reader() as db:
            newest = db.execute(
                "SELECT request_id FROM invocations ORDER BY start_ns DESC LIMIT 1"
            ).fetchone()[0]
        assert newest == "r59"


def test_retention_under_the_limits_deletes_nothing(tmp_path: Path) -> None:
    """A pass within both limits leaves everything alone."""
    with Store(tmp_path / "db") as store:
        fill(store, 3)
        outcome = store.enforce_retention(now_ns=T0 + 3 * HOUR, max_age_ns=24 * HOUR, max_bytes=1 << 30)
        assert outcome.deleted_rows == 0
        assert count(store, "invocations") == 3


def test_collector_applies_its_configured_retention(tmp_path: Path) -> None:
    """The collector's pass uses --retention-hours: data from a year ago is gone, today's stays."""
    with Collector(make_config(tmp_path, retention_hours=1.0, retention_interval_s=3600)) as collector:
        client = Client(collector)
        import time

        now = time.time_ns()
        assert (
            client.export("traces", invocation_trace("fn", "old", start_ns=now - 365 * 24 * HOUR))[0] == 200
        )
        assert client.export("traces", invocation_trace("fn", "new", start_ns=now))[0] == 200
        collector.enforce_retention()
        assert [r["request_id"] for r in client.get_json("/api/invocations")["invocations"]] == ["new"]
