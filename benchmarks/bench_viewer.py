"""Viewer server time with one million spans in SQLite: every page and API the owner opens, timed at the
``App.handle`` seam (what the server spends, without the socket).

    .venv/bin/python benchmarks/bench_viewer.py [--invocations 100000] [--spans-per 10] [--repeat 5]
                                                [--db PATH] [--quick]

Seeds a temporary store through ``Store.ingest`` (the collector's own write path): ``--invocations``
invocations of 8 functions spread over the last 7 days, each a SERVER span and ``--spans-per - 1`` children
(DynamoDB, S3 and HTTP calls with the agent's attributes), platform metrics (billed duration, memory,
post-runtime time), two log lines, and a custom metric on every tenth. ``--db`` keeps (and reuses) the file.
The baseline, measured in the same run on the same store, is the pre-existing newest-100 invocations API.
Target: every row under 200 ms (median).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from zerolag.collector import CollectorConfig, Store
from zerolag.collector.app import App, Request
from zerolag.collector.records import Invocation, Rows

KEY = "bench-key"
MS = 1_000_000
FUNCTIONS = ("api", "checkout", "mailer", "resizer", "reports", "auth", "search", "webhooks")
TARGET_MS = 200.0
_ENC = json.JSONEncoder(separators=(",", ":"))


def _batch(first: int, count: int, spans_per: int, now: int, window: int) -> Rows:
    rows = Rows()
    step = window // max(1, ARGS.invocations)
    for i in range(first, first + count):
        fn = FUNCTIONS[i % len(FUNCTIONS)]
        rid = f"req-{i:08d}"
        trace = f"{i:032x}"
        root = f"{i:08x}00000000"
        start = now - window + i * step
        dur = 20 + (i * 7919) % 400
        res = _ENC.encode({"service.name": fn, "faas.name": fn, "host.arch": "arm64" if i % 2 else "x86_64"})
        rows.spans.append(
            (
                trace,
                root,
                None,
                fn,
                2,
                start,
                start + dur * MS,
                2 if i % 50 == 0 else 0,
                None,
                fn,
                rid,
                _ENC.encode(
                    {"faas.invocation_id": rid, "faas.trigger": "http", "faas.coldstart": i % 40 == 0}
                ),
                res,
            )
        )
        rows.events.append([])
        for j in range(1, spans_per):
            attrs = (
                {
                    "rpc.system": "aws-api",
                    "rpc.service": "DynamoDB",
                    "aws.dynamodb.table_names": [f"t{j % 3}"],
                }
                if j % 3 == 0
                else {"rpc.system": "aws-api", "rpc.service": "S3", "aws.s3.bucket": f"b-{fn}"}
                if j % 3 == 1
                else {"http.request.method": "GET", "server.address": f"svc{j}.example.com"}
            )
            s = start + j * MS
            rows.spans.append(
                (
                    trace,
                    f"{i:08x}{j:08x}",
                    root,
                    f"call {j}",
                    3,
                    s,
                    s + (j % 5 + 1) * MS,
                    2 if (i + j) % 97 == 0 else 0,
                    None,
                    fn,
                    rid,
                    _ENC.encode(attrs),
                    res,
                )
            )
            rows.events.append([])
        rid_attr = _ENC.encode({"faas.invocation_id": rid})
        for name, value in (
            ("aws.lambda.billed_duration", float(dur + 1)),
            ("aws.lambda.post_runtime_duration", 2.5),
        ):
            rows.points.append((start, fn, rid, name, "ms", "gauge", value, None, None, rid_attr))
        if i % 10 == 0:
            rows.points.append((start, fn, None, "orders.placed", "1", "sum", 1.0, None, None, "{}"))
        rows.logs.append((start, fn, rid, trace, root, 9, "INFO", f"handled order {i}", rid_attr))
        rows.logs.append(
            (start + MS, fn, rid, trace, root, 17 if i % 50 == 0 else 9, None, f"done {i}", rid_attr)
        )
        rows.invocations.append(
            Invocation(
                rid,
                function=fn,
                trace_id=trace,
                span_id=root,
                start_ns=start,
                duration_ms=float(dur),
                billed_ms=float(dur + 1),
                init_ms=300.0 if i % 40 == 0 else None,
                cold_start=i % 40 == 0,
                memory_used_mb=80.0 + i % 50,
                memory_size_mb=512.0,
                status="error" if i % 50 == 0 else "ok",
                trigger="http",
                authoritative=True,
            )
        )
    return rows


def seed(store: Store, invocations: int, spans_per: int, now: int) -> float:
    started = time.perf_counter()
    window = 7 * 86400 * 10**9 - 60 * 10**9
    for first in range(0, invocations, 2000):
        store.ingest(_batch(first, min(2000, invocations - first), spans_per, now, window))
    return time.perf_counter() - started


def timed(app: App, path: str, repeat: int) -> tuple[float, float, float, int]:
    """(median wall ms, max wall ms, median CPU ms, status) of ``repeat`` GETs of ``path`` after a warm-up.

    CPU time is this process's own: on a shared machine it shows the work a page costs, apart from the
    waiting for a core that the wall time also counts."""
    request = Request("GET", path, {"X-Api-Key": KEY})
    status = app.handle_get(request).status
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        app.handle_get(request)
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    return statistics.median(walls), max(walls), statistics.median(cpus), status


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=100_000)
    parser.add_argument("--spans-per", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="100,000 spans instead of a million")
    ARGS = parser.parse_args()
    if ARGS.quick:
        ARGS.invocations = min(ARGS.invocations, 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        path = ARGS.db or Path(tmp) / "viewer.db"
        fresh = not path.exists()
        store = Store(path)
        now = time.time_ns()
        if fresh:
            took = seed(store, ARGS.invocations, ARGS.spans_per, now)
            print(
                f"seeded {ARGS.invocations * ARGS.spans_per:,} spans in {took:.0f} s "
                f"({path.stat().st_size / 1e6:.0f} MB)"
            )
        else:
            with store.reader() as db:
                now = db.execute("SELECT MAX(start_ns) FROM spans").fetchone()[0] + 60 * 10**9
        with store.reader() as db:
            spans = db.execute("SELECT COUNT(*) FROM spans").fetchone()[0]
            rid, trace = db.execute(
                "SELECT request_id, trace_id FROM invocations ORDER BY start_ns DESC LIMIT 1"
            ).fetchone()
        app = App(CollectorConfig(db_path=path, ingest_keys=frozenset({KEY})), store, clock=lambda: now)
        rows = [
            ("baseline: /api/invocations (newest 100, pre-existing)", "/api/invocations?limit=100"),
            ("overview / (last 1 h)", "/?since=1h"),
            ("overview / (last 24 h, default)", "/"),
            ("overview / (last 7 d)", "/?since=7d"),
            ("/api/functions (last 24 h)", "/api/functions?since=24h"),
            ("/api/functions (last 7 d)", "/api/functions?since=7d"),
            ("invocations list (24 h)", "/invocations"),
            (
                "invocations list, one function, page 2 (7 d)",
                f"/invocations?since=7d&function=api&before={now - 86400 * 10**9}",
            ),
            ("search: request id", f"/search?q={rid}"),
            ("search: trace id (list)", f"/invocations?since=24h&q={trace}"),
            ("search: attribute key=value (1 h)", "/invocations?since=1h&q=aws.s3.bucket%3Db-api"),
            ("search: attribute key=value (24 h)", "/invocations?since=24h&q=aws.s3.bucket%3Db-api"),
            ("search: log text (1 h)", "/invocations?since=1h&q=handled+order"),
            ("search: log text, rare (24 h)", "/invocations?since=24h&q=no+such+words"),
            ("invocation detail", f"/invocations/{rid}"),
            ("trace view", f"/traces/{trace}"),
            ("dependencies (24 h)", "/dependencies"),
            ("dependencies (7 d, sampled)", "/dependencies?since=7d"),
            ("logs (24 h)", "/logs"),
            ("logs, errors only (7 d)", "/logs?since=7d&severity=error"),
            ("logs, text search (24 h)", "/logs?text=done+99"),
            ("metrics (24 h)", "/metrics"),
            ("metrics (7 d)", "/metrics?since=7d"),
            ("charts (24 h)", "/charts"),
        ]
        print(
            f"\nViewer server time, {spans:,} spans in SQLite, median of {ARGS.repeat} (target < "
            f"{TARGET_MS:.0f} ms)\n"
        )
        width = max(len(name) for name, _ in rows)
        load = os.getloadavg()[0]
        print(f"(load average {load:.1f} on {os.cpu_count()} cores: wall time includes waiting for a core)\n")
        print(f"{'page':<{width}}  {'median':>9}  {'max':>9}  {'CPU':>9}  status  verdict")
        print(f"{'-' * width}  {'-' * 9}  {'-' * 9}  {'-' * 9}  ------  -------")
        for name, target in rows:
            median, worst, cpu, status = timed(app, target, ARGS.repeat)
            verdict = "ok" if median < TARGET_MS else ("SLOW (CPU ok)" if cpu < TARGET_MS else "SLOW")
            print(
                f"{name:<{width}}  {median:>7.1f}ms  {worst:>7.1f}ms  {cpu:>7.1f}ms  {status:>6}  {verdict}",
                flush=True,
            )
        store.close()


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
