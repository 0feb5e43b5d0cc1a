"""Intake memory: the receiver's peak RSS with four maximum-size (16 MiB) requests at once.

    .venv/bin/python benchmarks/bench_intake.py [--quick]

Each scenario runs the extension's real HTTP server and OTLP receiver in a fresh child process (a sink that
keeps nothing, so what is measured is intake alone), sends four ~16 MiB requests from four threads at once,
and reads the child's peak RSS (VmHWM) against its RSS when idle. The comparison in the same run is the
decoding the receiver used before (``json.loads`` of the whole body, normalize, encode) behind the same
server, with the old body budget (2 x max request): what a 14 MB request cost (~350 MB) in issue 10.
Goal: zerolag's peak stays within 64 MiB of idle; a request that cannot get memory is answered 503 with
Retry-After, never by growing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024

CHILD = r"""
import sys, threading
from zerolag.extension.server import HttpServer, bind_loopback
from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.http import HttpResponse

class Sink:
    def submit(self, signal, data, items, request_id=None): pass
    def runtime_done(self, request_id): pass
    def count(self, name, n=1): pass

mode = sys.argv[1]
max_body = 16 * 1024 * 1024
sock = bind_loopback(0)
if mode == "zerolag":  # as the extension runs it: allocator tuned (zerolag.extension.memory)
    from zerolag.extension import memory

    memory.tune()
    server = HttpServer(sock, OtlpReceiver(Sink()), max_body=max_body)
else:  # the decoding the receiver used before, with the old budget (2 x max request)
    from zerolag.otlp import jsoncodec, protobuf

    def old(request):
        protobuf.encode("traces", jsoncodec.loads("traces", request.body))
        return HttpResponse(200, b"{}")

    server = HttpServer(sock, old, max_body=max_body, budget_bytes=2 * max_body)
server.start()
print(server.port, flush=True)
sys.stdin.read()
"""


def json_request(size: int) -> tuple[bytes, int]:
    spans, total, i = [], 0, 0
    while total < size - 2000:
        span = {
            "traceId": f"{i + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "name": f"gen-{i}",
            "kind": 1,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": "1700000000001000000",
            "attributes": [{"key": f"k{k}", "value": {"stringValue": f"v{k}-{i}"}} for k in range(8)],
        }
        text = json.dumps(span, separators=(",", ":"))
        total += len(text) + 1
        spans.append(text)
        i += 1
    head = '{"resourceSpans":[{"resource":{},"scopeSpans":[{"scope":{"name":"gen"},"spans":['
    return (head + ",".join(spans) + "]}]}]}").encode(), len(spans)


def vm(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0


def post(port: int, body: bytes, out: list[str], index: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/v1/traces", body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        resp.read()
        retry = resp.getheader("Retry-After")
        out[index] = f"{resp.status}" + (f" (Retry-After {retry})" if retry else "")
    except OSError as exc:
        out[index] = type(exc).__name__
    finally:
        conn.close()


def scenario(mode: str, body: bytes, clients: int) -> tuple[float, float, list[str], float]:
    """(idle MiB, peak above idle MiB, answers, seconds) for one child."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        socket.create_connection(("127.0.0.1", port), timeout=10).close()
        idle = vm(child.pid, "VmRSS")
        answers = [""] * clients
        threads = [threading.Thread(target=post, args=(port, body, answers, i)) for i in range(clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - started
        peak = vm(child.pid, "VmHWM")
        return idle / MIB, (peak - idle) / MIB, answers, seconds
    finally:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller requests (4 MiB)")
    options = parser.parse_args()
    size = (4 if options.quick else 16) * MIB - 4096
    body, spans = json_request(size)
    print(f"four concurrent OTLP/JSON requests of {len(body) / MIB:.1f} MiB ({spans} spans each)", flush=True)
    rows = []
    for mode, label in (
        ("zerolag", "zerolag (streamed JSON, shared budget)"),
        ("old", "whole-body json.loads"),
    ):
        idle, above, answers, seconds = scenario(mode, body, 4)
        rows.append((label, idle, above, answers, seconds))
        print(
            f"  {label}: idle {idle:.1f} MiB, peak +{above:.1f} MiB, {seconds:.1f} s, {answers}", flush=True
        )
    print()
    print("| receiver | idle RSS | peak RSS above idle | answers | time |")
    print("|---|---|---|---|---|")
    for label, idle, above, answers, seconds in rows:
        print(f"| {label} | {idle:.1f} MiB | {above:.1f} MiB | {', '.join(answers)} | {seconds:.1f} s |")
    print("goal: zerolag's peak within 64 MiB of idle; refusals are 503 with Retry-After")


if __name__ == "__main__":
    main()
