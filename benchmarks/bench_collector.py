"""Collector ingest: spans/s over real OTLP/HTTP on SQLite, on PostgreSQL, and with two collectors sharing one
PostgreSQL, each with its peak RSS under the worst accepted input; and the decode stage against its peer.

    .venv/bin/python benchmarks/bench_collector.py [--requests 300] [--spans 100] [--clients 4] [--quick]

Every collector is a real ``zerolag collector serve`` process (so its RSS is its own). Each request is one
protobuf ``ExportTraceServiceRequest`` of ``--spans`` spans (a SERVER span with faas attributes and its
children, 4 attributes each), gzip-compressed as the extension's forwarder sends it, over ``--clients``
keep-alive connections. After the throughput run, each collector gets the worst input it accepts: four
concurrent JSON requests just under the 16 MiB body limit (JSON costs the most memory per byte), retried on
503 like an OTLP exporter; the table shows the peak RSS (VmHWM) this left. PostgreSQL is a throwaway cluster
(Debian's binaries, as in the tests). The stage rows time decoding alone: the official generated classes on
the protobuf runtime (what the collector uses) against zerolag's standard-library decoder (what it used).
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "collector"))  # the throwaway PostgreSQL server of the tests

from zerolag.collector import otlp_pb  # noqa: E402
from zerolag.collector.records import trace_rows  # noqa: E402
from zerolag.otlp import protobuf  # noqa: E402

KEY = "bench-key"
MS = 1_000_000
MB = 1024 * 1024


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


def worst_json(tag: int, limit: int = 16 * MB) -> bytes:
    """A JSON trace request just under ``limit`` bytes, of small spans with small attributes."""
    spans, size = [], 200
    template = {
        "name": "op",
        "kind": 3,
        "startTimeUnixNano": "1764300000000000000",
        "endTimeUnixNano": "1764300000000001000",
        "attributes": [
            {"key": "k1", "value": {"stringValue": "v"}},
            {"key": "k2", "value": {"intValue": "7"}},
            {"key": "k3", "value": {"boolValue": True}},
        ],
    }
    per_span = len(json.dumps(template)) + 80
    for j in range((limit - size) // per_span - 1):
        spans.append({"traceId": f"{tag:08x}{j:024x}", "spanId": f"{tag:04x}{j:012x}", **template})
    body = json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": spans}]}]}).encode()
    assert len(body) <= limit, len(body)
    return body


class CollectorProcess:
    """``zerolag collector serve`` in its own process."""

    def __init__(self, store_args: list[str]) -> None:
        argv = [sys.executable, "-m", "zerolag.cli.main", "collector", "serve", "--port", "0"]
        argv += [*store_args, "--ingest-key", KEY, "--retention-hours", "0", "--max-db-mb", "0"]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"collector did not start: {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.port = int(line.split()[3].rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        """User + system CPU time the process has used (what it costs, whatever else runs on the machine)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) * 1024

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def post(
    port: int, body: bytes, headers: dict[str, str], conn: http.client.HTTPConnection | None = None
) -> int:
    """One POST, retried on 503 like an OTLP exporter; the final status."""
    for _ in range(120):
        own = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        own.request("POST", "/v1/traces", body=body, headers=headers)
        response = own.getresponse()
        response.read()
        if conn is None:
            own.close()
        if response.status != 503:
            return response.status
        time.sleep(float(response.getheader("Retry-After", "1")))
    return 503


def send_all(ports: list[int], bodies: list[bytes], clients: int) -> tuple[float, int]:
    """Post every body over ``clients`` keep-alive connections spread over ``ports``; (seconds, failures)."""
    failures = [0] * clients
    headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "X-Api-Key": KEY}

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", ports[k % len(ports)], timeout=300)
        for body in bodies[k::clients]:
            failures[k] += post(0, body, headers, conn) != 200
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start, sum(failures)


def worst_case(collectors: list[CollectorProcess], bodies: list[bytes]) -> int:
    """Four concurrent near-limit JSON requests to each collector; the failures."""
    headers = {"Content-Type": "application/json", "X-Api-Key": KEY}
    statuses: list[int] = []
    threads = [
        threading.Thread(target=lambda c=c, b=b: statuses.append(post(c.port, b, headers)))
        for c in collectors
        for b in bodies
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(s != 200 for s in statuses)


def store_row(
    name: str, stores: list[list[str]], bodies: list[bytes], worst: list[bytes], *, spans: int, clients: int
) -> tuple[str, float, float, int, str]:
    collectors = [CollectorProcess(args) for args in stores]
    try:
        cpu = sum(c.cpu_seconds() for c in collectors)
        seconds, failed = send_all([c.port for c in collectors], bodies, clients)
        cpu = sum(c.cpu_seconds() for c in collectors) - cpu
        failed += worst_case(collectors, worst)
        rss = " / ".join(f"{c.peak_rss() / MB:.0f}" for c in collectors)
    finally:
        for c in collectors:
            c.stop()
    n = len(bodies) * spans
    return name, n / seconds, n / cpu, failed, rss


def stage_rows(requests: list[dict[str, Any]], spans: int) -> list[tuple[str, float, float, int, str]]:
    encoded = [protobuf.encode("traces", r) for r in requests]
    n = len(requests) * spans
    rows = []
    for name, decode in (
        ("stage: decode+rows, protobuf runtime", lambda e: otlp_pb.trace_rows(e, 0)),
        ("stage: decode+rows, stdlib (before)", lambda e: trace_rows(protobuf.decode("traces", e), 0)),
    ):
        start = time.process_time()
        for e in encoded:
            decode(e)
        rate = n / (time.process_time() - start)
        rows.append((name, rate, rate, 0, "-"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--spans", type=int, default=100, help="spans per request")
    parser.add_argument("--clients", type=int, default=4, help="concurrent keep-alive connections")
    parser.add_argument("--quick", action="store_true", help="fewer requests, 2 MB worst-case bodies")
    args = parser.parse_args()
    if args.quick:
        args.requests = 60
    requests = [request(i, args.spans) for i in range(args.requests)]
    bodies = [gzip.compress(protobuf.encode("traces", r)) for r in requests]
    worst = [worst_json(i, 2 * MB if args.quick else 16 * MB - 4096) for i in range(4)]
    from pg_server import PostgresServer, binaries

    def row(name: str, stores: list[list[str]]) -> tuple[str, float, float, int, str]:
        return store_row(name, stores, bodies, worst, spans=args.spans, clients=args.clients)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(row("SQLite, 1 collector", [["--db", f"{tmp}/a.db"]]))
        if binaries() is None:
            print("PostgreSQL not installed (scripts/setup-system.sh): its rows are skipped", file=sys.stderr)
        else:
            server = PostgresServer().start()
            try:
                one, two = server.create_database("bench1"), server.create_database("bench2")
                rows.append(row("PostgreSQL, 1 collector", [["--store", one]]))
                rows.append(row("PostgreSQL, 2 collectors", [["--store", two]] * 2))
            finally:
                server.stop()
    rows += stage_rows(requests[:100], args.spans)
    size = sum(len(b) for b in bodies) / len(bodies)
    print(
        f"collector ingest: {args.requests} requests x {args.spans} spans ({size / 1024:.1f} KiB gzip each)"
        f" over {args.clients} connections; worst input: 4 x {len(worst[0]) / MB:.1f} MB JSON at once"
    )
    print("spans/s: wall clock, all collectors together; per CPU-s: spans per second of collector CPU time")
    print(f"{'path':40} {'spans/s':>9} {'per CPU-s':>10} {'failed':>7} {'peak RSS MB':>12}")
    print(f"{'-' * 40} {'-' * 9} {'-' * 10} {'-' * 7} {'-' * 12}")
    for name, rate, per_cpu, failed, rss in rows:
        print(f"{name:40} {rate:9,.0f} {per_cpu:10,.0f} {failed:7d} {rss:>12}")


if __name__ == "__main__":
    main()
