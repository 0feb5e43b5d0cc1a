"""The emulator's own cost, as the caller sees it and as it is billed, with and without the zerolag layer.

Each configuration runs as ``zerolag emulate --serve`` (its own process, as a user runs it) with a handler
that does nothing (``examples/emulator/scenarios`` ``app.ok``). A client on a kept-alive loopback connection
measures:

- ``caller``: the round trip of an invoke: what a caller waits for. The emulator answers when the runtime
  posts /response, as Lambda does (docs/emulator.md, "Response and billing").
- ``billed`` / ``duration``: read from the invocation's own REPORT line (the whole invocation: the
  extensions' post-runtime work included).
- ``to the end``: the round trip of an invoke with ``LogType=Tail``, which is answered only at the end of the
  invocation (its log ends with REPORT): what every caller waited for before the emulator answered at
  /response time, measured in the same run.
- ``cold start``: from starting the process to its first answer (layout, init, one invocation).

Configurations: no layer (the baseline), and the zerolag layer (``zerolag layer build``: extension + agent)
with the agent off (``ZEROLAG_ENABLED=false``) and no backend, so the row isolates what the extension's
presence costs. The freezer is on, as in Lambda. Rows are measured interleaved (one invocation of each in
turn), so a change in the machine's load hits both alike.
Run: ``.venv/bin/python benchmarks/bench_emulator.py [--invokes 200 --colds 3]``. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "examples" / "emulator" / "scenarios"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
WARMUP = 10
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: ([0-9.]+) ms\tBilled Duration: (\d+) ms")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Config:
    name: str
    args: list[str]


class Served:
    """One ``zerolag emulate --serve 0`` process; REPORT lines are collected by request id."""

    def __init__(self, cfg: Config) -> None:
        argv = [sys.executable, "-m", "zerolag.cli.main", "emulate", "--code", str(SCENARIOS)]
        argv += ["--handler", "app.ok", *cfg.args, "--serve", "0"]
        self.started = time.perf_counter()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
        self.reports: dict[str, tuple[float, int]] = {}
        self._cond = threading.Condition()
        assert self.proc.stderr is not None
        port = None
        for line in self.proc.stderr:
            if line.startswith("serving POST http://"):
                port = int(line.split(":")[2].split("/")[0])
                break
        if port is None:
            raise SystemExit(f"{cfg.name}: the emulator did not start")
        threading.Thread(target=self._read, daemon=True).start()
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            m = _REPORT.match(line)
            if m:
                with self._cond:
                    self.reports[m[1]] = (float(m[2]), int(m[3]))
                    self._cond.notify_all()

    def invoke(self, tail: bool = False) -> tuple[float, str]:
        """(round trip in ms, request id)."""
        headers = {"X-Amz-Log-Type": "Tail"} if tail else {}
        t0 = time.perf_counter()
        self.conn.request("POST", INVOKE_PATH, body=b"{}", headers=headers)
        resp = self.conn.getresponse()
        resp.read()
        elapsed = (time.perf_counter() - t0) * 1000
        rid = resp.getheader("x-amzn-RequestId")
        if resp.status != 200 or rid is None or resp.getheader("X-Amz-Function-Error"):
            raise SystemExit(f"invoke failed: HTTP {resp.status}")
        return elapsed, rid

    def report(self, rid: str) -> tuple[float, int]:
        with self._cond:
            if not self._cond.wait_for(lambda: rid in self.reports, 30):
                raise SystemExit(f"no REPORT line for {rid}")
            return self.reports[rid]

    def stop(self) -> None:
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Samples:
    caller: list[float] = field(default_factory=list)
    billed: list[float] = field(default_factory=list)
    duration: list[float] = field(default_factory=list)
    to_end: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)


def bench_warm(configs: list[Config], n: int) -> dict[str, Samples]:
    samples = {c.name: Samples() for c in configs}
    with ExitStack() as stack:
        served = []
        for cfg in configs:
            s = Served(cfg)
            stack.callback(s.stop)
            served.append(s)
        for i in range(WARMUP + n):
            for cfg, s in zip(configs, served, strict=True):
                caller, rid = s.invoke()
                duration, billed = s.report(rid)  # the invocation's end: the next one starts warm
                to_end, _ = s.invoke(tail=True)
                if i >= WARMUP:
                    out = samples[cfg.name]
                    out.caller.append(caller)
                    out.billed.append(float(billed))
                    out.duration.append(duration)
                    out.to_end.append(to_end)
    return samples


def bench_cold(cfg: Config, n: int) -> list[float]:
    colds = []
    for _ in range(n):
        t0 = time.perf_counter()
        s = Served(cfg)
        s.invoke()
        colds.append((time.perf_counter() - t0) * 1000)
        s.stop()
    return colds


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--invokes", type=int, default=200)
    parser.add_argument("--colds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    from zerolag.layer.build import build_layer_tree

    layer = build_layer_tree(Path(tempfile.mkdtemp(prefix="bench-emulator-")) / "layer")
    layer_args = ["--layer", str(layer), "--env", "ZEROLAG_ENABLED=false"]
    layer_args += ["--env", f"ZEROLAG_EXTENSION_PORT={free_port()}"]
    layer_args += ["--env", f"ZEROLAG_THUNDRA_PORT={free_port()}"]
    configs = [Config("no layer", []), Config("zerolag layer, agent off", layer_args)]
    warm = bench_warm(configs, args.invokes)
    rows: list[dict[str, Any]] = []
    for cfg in configs:
        s = warm[cfg.name]
        colds = bench_cold(cfg, args.colds)
        rows.append(
            {
                "config": cfg.name,
                "caller_p50_ms": statistics.median(s.caller),
                "caller_p95_ms": pct(s.caller, 0.95),
                "billed_p50_ms": statistics.median(s.billed),
                "duration_p50_ms": statistics.median(s.duration),
                "to_end_p50_ms": statistics.median(s.to_end),
                "cold_start_p50_ms": statistics.median(colds),
            }
        )
    header = (
        f"{'configuration':<26}{'caller p50':>12}{'p95':>10}{'billed p50':>12}{'duration p50':>14}"
        f"{'to the end p50':>16}{'cold start':>12}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['config']:<26}{r['caller_p50_ms']:>9.2f} ms{r['caller_p95_ms']:>7.2f} ms"
            f"{r['billed_p50_ms']:>9.0f} ms{r['duration_p50_ms']:>11.2f} ms{r['to_end_p50_ms']:>13.2f} ms"
            f"{r['cold_start_p50_ms']:>9.0f} ms"
        )
    base, with_layer = rows
    print(
        f"\n{args.invokes} warm invocations per row, interleaved. The zerolag layer (agent off) adds "
        f"{with_layer['caller_p50_ms'] - base['caller_p50_ms']:+.2f} ms to the caller's p50 and "
        f"{with_layer['billed_p50_ms'] - base['billed_p50_ms']:+.0f} ms to the billed p50."
    )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
