"""Collector ingest throughput: spans/s over real OTLP/HTTP, and where the time goes.

    .venv/bin/python benchmarks/bench_collector.py [--requests 200] [--spans 100] [--clients 1,4,8]

Each request is one protobuf ``ExportTraceServiceRequest`` of ``--spans`` spans (one invocation: a SERVER
span with faas attributes and its children, 4 attributes each), gzip-compressed as the extension's forwarder
sends it. A fresh collector with a temporary SQLite file is started per row.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from zerolag.collector import Collector, CollectorConfig, Store
from zerolag.collector.records import trace_rows
from zerolag.otlp import protobuf

KEY = "bench-key"
MS = 1_000_000


def request(i: int, spans: int) -> dict[str, Any]:
    trace_id = f"{i:032x}"
    root = f"{i:08x}00000000"
    t0 = 1_764_300_000_000_000_000 + i * 1000 * MS
    out = [
        {
            "traceId": trace_id,
            "spanId": root,
            "name": "handler",
            "kind": 2,
            "startTimeUnixNano": t0,
            "endTimeUnixNano": t0 + spans * MS,
            "attributes": [
                {"key": "faas.invocation_id", "value": {"stringValue": f"req-{i}"}},
                {"key": "faas.trigger", "value": {"stringValue": "http"}},
                {"key": "faas.coldstart", "value": {"boolValue": i == 0}},
            ],
        }
    ]
    for j in range(1, spans):
        out.append(
            {
                "traceId": trace_id,
                "spanId": f"{i:08x}{j:08x}",
                "parentSpanId": root,
                "name": f"DynamoDB.GetItem {j}",
                "kind": 3,
                "startTimeUnixNano": t0 + j * MS,
                "endTimeUnixNano": t0 + j * MS + MS // 2,
                "attributes": [
                    {"key": "rpc.system", "value": {"stringValue": "aws-api"}},
                    {"key": "rpc.service", "value": {"stringValue": "DynamoDB"}},
                    {"key": "aws.dynamodb.table_names", "value": {"stringValue": "orders"}},
                    {"key": "http.status_code", "value": {"intValue": 200}},
                ],
            }
        )
    resource = {"attributes": [{"key": "faas.name", "value": {"stringValue": "bench"}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": out}]}]}


def send_all(port: int, bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body over ``clients`` keep-alive connections at once; (seconds, non-200 count)."""
    failures = [0] * clients
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "X-Api-Key": KEY}

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in bodies[k::clients]:
            conn.request("POST", "/v1/traces", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            failures[k] += response.status != 200
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(failures)


def http_row(bodies: list[bytes], spans: int, clients: int) -> tuple[str, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        config = CollectorConfig(
            db_path=Path(tmp) / "bench.db",
            ingest_keys=frozenset({KEY}),
            port=0,
            retention_hours=None,
            max_db_mb=None,
        )
        with Collector(config) as collector:
            seconds, failed = send_all(collector.port, bodies, clients)
    return f"HTTP ingest, {clients} client(s)", len(bodies) * spans / seconds, failed


def stage_rows(requests: list[dict[str, Any]], spans: int) -> list[tuple[str, float, int]]:
    """The stages of one request without HTTP: decode, row building, and the SQLite transaction."""
    encoded = [protobuf.encode("traces", r) for r in requests]
    start = time.perf_counter()
    decoded = [protobuf.decode("traces", e) for e in encoded]
    decode_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = [trace_rows(d, 0) for d in decoded]
    rows_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "stage.db") as store:
        start = time.perf_counter()
        for r in rows:
            store.ingest(r)
        store_s = time.perf_counter() - start
    n = len(requests) * spans
    return [
        ("stage: protobuf decode", n / decode_s, 0),
        ("stage: rows from request", n / rows_s, 0),
        ("stage: SQLite transaction", n / store_s, 0),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--spans", type=int, default=100, help="spans per request")
    parser.add_argument("--clients", default="1,4,8", help="comma-separated concurrent client counts")
    args = parser.parse_args()
    requests = [request(i, args.spans) for i in range(args.requests)]
    bodies = [gzip.compress(protobuf.encode("traces", r)) for r in requests]
    size = sum(len(b) for b in bodies) / len(bodies)
    rows = [http_row(bodies, args.spans, int(c)) for c in args.clients.split(",")]
    rows += stage_rows(requests, args.spans)
    print(f"collector ingest: {args.requests} requests x {args.spans} spans, {size / 1024:.1f} KiB gzip each")
    print(f"{'path':38} {'spans/s':>12} {'failed':>7}")
    print(f"{'-' * 38} {'-' * 12} {'-' * 7}")
    for name, rate, failed in rows:
        print(f"{name:38} {rate:12,.0f} {failed:7d}")


if __name__ == "__main__":
    main()
