"""Cost of the Telemetry API path per invocation: subscription on vs off, in the same run.

Two measurements:

1. ``translator``: CPU time of the pure core for one invocation's events (start, a log line, runtimeDone,
   report → span, metrics, logs, protobuf-encoded), in-process, median of many rounds.
2. ``emulator``: the real extension in the emulator with the real awslambdaric, ``ZEROLAG_TELEMETRY=true``
   vs ``false``, sandboxes interleaved (on, off, on, off…). Per invocation: the platform's post-runtime time
   (``post_runtime_ms``, what the extension adds to billed duration) and the extension process's CPU time
   (utime+stime from /proc, found by a marker in its environment).

Run: ``.venv/bin/python benchmarks/bench_telemetry.py [--rounds 3 --invokes 30]``. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def _events(rid: str, at_ms: int) -> bytes:
    def ts(ms: int) -> str:
        s, msec = divmod(ms, 1000)
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{msec:03d}Z"

    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    events = [
        {
            "time": ts(at_ms),
            "type": "platform.start",
            "record": {"requestId": rid, "tracing": {"value": trace}},
        },
        {"time": ts(at_ms + 1), "type": "function", "record": f"[INFO]\t{ts(at_ms)}\t{rid}\thello\n"},
        {
            "time": ts(at_ms + 5),
            "type": "platform.runtimeDone",
            "record": {
                "requestId": rid,
                "status": "success",
                "metrics": {"durationMs": 4.2, "producedBytes": 10},
                "spans": [{"name": "responseLatency", "start": ts(at_ms), "durationMs": 1.0}],
            },
        },
        {
            "time": ts(at_ms + 6),
            "type": "platform.report",
            "record": {
                "requestId": rid,
                "status": "success",
                "metrics": {
                    "durationMs": 5.0,
                    "billedDurationMs": 5,
                    "memorySizeMB": 128,
                    "maxMemoryUsedMB": 40,
                },
                "spans": [{"name": "extensionOverhead", "start": ts(at_ms + 5), "durationMs": 0.4}],
            },
        },
    ]
    return json.dumps(events).encode()


def bench_translator(rounds: int) -> dict[str, float]:
    """CPU µs per invocation of the pure translator + protobuf encoding."""
    from zerolag.extension.telemetry.translator import TelemetryTranslator
    from zerolag.otlp import protobuf

    sent: list[int] = []

    def emit(signal: Any, request: dict[str, Any], rid: str | None) -> None:
        sent.append(len(protobuf.encode(signal, request)))

    tr = TelemetryTranslator(function_name="fn", resource={"service.name": "fn"}, emit=emit, memory_mb=128)
    bodies = [_events(str(uuid.uuid4()), 1_767_225_600_000 + i * 10) for i in range(rounds)]
    samples = []
    for body in bodies:
        t0 = time.process_time_ns()
        tr.handle_body(body)
        samples.append((time.process_time_ns() - t0) / 1000)
    samples.sort()
    return {
        "median_us": statistics.median(samples),
        "p90_us": samples[int(len(samples) * 0.9)],
        "bytes_per_invocation": sum(sent) / max(len(bodies), 1),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _extension_cpu_s(marker: str) -> float:
    """utime+stime (s) of the live processes whose environment holds ``marker`` and that are the extension."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            if marker.encode() not in environ:
                continue
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"awslambdaric" in cmdline or b"bootstrap" in cmdline:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


@contextmanager
def start_sink() -> Iterator[str]:
    """A backend that accepts every OTLP request (the cost measured is the extension's, not the backend's)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def bench_emulator(
    rounds: int, invokes: int, layer: Path, code: Path, *, backend: bool = True
) -> dict[str, dict[str, float]]:
    from zerolag.emulator import Sandbox

    results: dict[str, dict[str, list[float]]] = {
        "on": {"post": [], "cpu": []},
        "off": {"post": [], "cpu": []},
    }
    with start_sink() as endpoint:
        for _ in range(rounds):
            for mode in ("on", "off"):
                marker = f"ZEROLAG_BENCH_MARKER={uuid.uuid4().hex}"
                env = {
                    "ZEROLAG_OTLP_ENDPOINT": endpoint if backend else "",
                    "ZEROLAG_EXTENSION_PORT": str(_free_port()),
                    "ZEROLAG_THUNDRA_PORT": str(_free_port()),
                    "ZEROLAG_TELEMETRY": "true" if mode == "on" else "false",
                    "ZEROLAG_BENCH_MARKER": marker.split("=", 1)[1],
                }
                with Sandbox(
                    code=str(code), handler="app.handler", layers=[str(layer)], env=env, timeout=10.0
                ) as sb:
                    sb.invoke({})  # cold start, not counted
                    cpu0 = _extension_cpu_s(marker)
                    posts = [sb.invoke({}).post_runtime_ms for _ in range(invokes)]
                    cpu1 = _extension_cpu_s(marker)
                    sb.shutdown()
                results[mode]["post"].extend(p for p in posts if p is not None)
                results[mode]["cpu"].append((cpu1 - cpu0) * 1000 / invokes)
    return {
        mode: {
            "post_runtime_ms_median": statistics.median(r["post"]) if r["post"] else float("nan"),
            "extension_cpu_ms_per_invocation": statistics.median(r["cpu"]),
        }
        for mode, r in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--invokes", type=int, default=30)
    parser.add_argument("--translator-rounds", type=int, default=3000)
    parser.add_argument("--skip-emulator", action="store_true")
    parser.add_argument(
        "--no-backend", action="store_true", help="no ZEROLAG_OTLP_ENDPOINT: ingestion cost without sending"
    )
    args = parser.parse_args()
    report: dict[str, Any] = {"translator": bench_translator(args.translator_rounds)}
    print(
        f"translator: {report['translator']['median_us']:.1f} µs CPU per invocation (median), "
        f"p90 {report['translator']['p90_us']:.1f} µs"
    )
    if not args.skip_emulator:
        from zerolag.layer.build import build_layer_tree

        with tempfile.TemporaryDirectory() as tmp:
            layer = build_layer_tree(Path(tmp) / "opt")
            code = Path(tmp) / "code"
            code.mkdir()
            (code / "app.py").write_text(
                textwrap.dedent("""
                def handler(event, context):
                    print("hello")
                    return {"ok": True}
            """)
            )
            report["emulator"] = bench_emulator(
                args.rounds, args.invokes, layer, code, backend=not args.no_backend
            )
        for mode in ("on", "off"):
            r = report["emulator"][mode]
            print(
                f"subscription {mode:3}: post-runtime {r['post_runtime_ms_median']:.2f} ms (median), "
                f"extension CPU {r['extension_cpu_ms_per_invocation']:.3f} ms per invocation"
            )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
