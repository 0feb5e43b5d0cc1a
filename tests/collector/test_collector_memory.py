"""Memory under the heaviest accepted input: several large JSON exports at once cost a bounded amount, not
their number times the decoder's expansion (four 14 MB JSON requests once took 1.5 GB). The collector runs
as its own process so its peak RSS (VmHWM) can be read."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from collector_client import INGEST_KEY

MB = 1024 * 1024


def big_json_request(tag: int, spans: int) -> bytes:
    """A JSON ExportTraceServiceRequest of ``spans`` spans with a few small attributes each."""
    out = []
    for j in range(spans):
        out.append(
            {
                "traceId": f"{tag:08x}{j:024x}",
                "spanId": f"{tag:04x}{j:012x}",
                "name": f"op {j}",
                "kind": 3,
                "startTimeUnixNano": str(1_764_300_000_000_000_000 + j),
                "endTimeUnixNano": str(1_764_300_000_000_000_000 + j + 1000),
                "attributes": [
                    {"key": "k1", "value": {"stringValue": "v"}},
                    {"key": "k2", "value": {"intValue": str(j)}},
                    {"key": "k3", "value": {"boolValue": True}},
                ],
            }
        )
    body = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": out}]}]}
    return json.dumps(body).encode()


def peak_rss(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) * 1024


def post_until_accepted(port: int, body: bytes, results: list[Any]) -> None:
    """POST like an OTLP exporter: a 503 with Retry-After is retried, anything else is final."""
    for _ in range(60):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request(
                "POST", "/v1/traces", body, {"Content-Type": "application/json", "X-Api-Key": INGEST_KEY}
            )
            response = conn.getresponse()
            response.read()
        finally:
            conn.close()
        if response.status != 503:
            results.append(response.status)
            return
        time.sleep(float(response.getheader("Retry-After", "1")))  # the protocol's back-off, not a sync
    results.append("gave up")


def test_concurrent_large_json_exports_stay_within_the_decode_budget(tmp_path: Path) -> None:
    budget_mb, size_mb, clients = 64, 4, 4
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "zerolag.cli.main", "collector", "serve", "--port", "0",
            "--db", str(tmp_path / "db"), "--ingest-key", INGEST_KEY, "--decode-memory-mb", str(budget_mb),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline().split()[3].rsplit(":", 1)[1])
        spans = size_mb * MB // 330
        bodies = [big_json_request(i, spans) for i in range(clients)]
        assert all(len(b) >= (size_mb - 1) * MB for b in bodies)
        idle = peak_rss(proc.pid)
        results: list[Any] = []
        threads = [threading.Thread(target=post_until_accepted, args=(port, b, results)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert results == [200] * clients
        growth = peak_rss(proc.pid) - idle
        print(f"peak RSS grew {growth / MB:.0f} MB")
        # Four decodes at once cost 4 x ~11 x 4 MB = ~180 MB and more; within the budget (one 4 MB JSON
        # decode is estimated at 96 MB, clamped to the 64 MB budget: one at a time) well under that.
        assert growth < 120 * MB, f"peak RSS grew {growth / MB:.0f} MB"
    finally:
        proc.terminate()
        proc.wait(30)
    with sqlite3.connect(tmp_path / "db") as db:
        assert db.execute("SELECT COUNT(*) FROM spans").fetchone()[0] == clients * spans
