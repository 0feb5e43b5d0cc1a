"""The emulator's own cost: overhead per invocation (empty handler) and sandbox cold start.

- ``invoke``: wall time of ``Sandbox.invoke`` around a handler that does nothing (``app.ok``), minus nothing:
  everything here is emulator + awslambdaric + loopback HTTP (+ freeze/thaw when on). Compared with the
  platform's own ``duration_ms`` for the same invocations.
- ``cold start``: wall time from ``Sandbox(...).start()`` to ready (layout, mount namespace, API server,
  extensions registered, runtime in /next) and ``shutdown()``; the reported ``initDurationMs`` next to it.

Each configuration: no extension / the plain recorder extension, freeze on / off.
Run: ``.venv/bin/python benchmarks/bench_emulator.py [--invokes 200 --colds 10]``. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from zerolag.emulator import Sandbox  # noqa: E402

SCENARIOS = REPO / "examples" / "emulator" / "scenarios"
RECORDER = REPO / "examples" / "emulator" / "recorder-layer"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def bench_invoke(layers: list[Path], freeze: bool, n: int) -> dict[str, Any]:
    walls: list[float] = []
    durations: list[float] = []
    with Sandbox(code=SCENARIOS, handler="app.ok", layers=layers, freeze=freeze) as sb:
        for _ in range(10):  # warm-up
            sb.invoke({})
        for _ in range(n):
            t0 = time.perf_counter()
            r = sb.invoke({})
            walls.append((time.perf_counter() - t0) * 1000)
            durations.append(r.duration_ms)
        kind = sb.freezer_kind
    return {
        "freezer": kind,
        "wall_p50_ms": statistics.median(walls),
        "wall_p95_ms": pct(walls, 0.95),
        "duration_p50_ms": statistics.median(durations),
    }


def bench_cold(layers: list[Path], freeze: bool, n: int) -> dict[str, Any]:
    starts: list[float] = []
    inits: list[float] = []
    stops: list[float] = []
    for _ in range(n):
        sb = Sandbox(code=SCENARIOS, handler="app.ok", layers=layers, freeze=freeze)
        t0 = time.perf_counter()
        sb.start()
        starts.append((time.perf_counter() - t0) * 1000)
        if sb.last_init is not None:
            inits.append(sb.last_init.duration_ms)
        t1 = time.perf_counter()
        sb.shutdown()
        stops.append((time.perf_counter() - t1) * 1000)
    return {
        "start_p50_ms": statistics.median(starts),
        "init_p50_ms": statistics.median(inits) if inits else None,
        "shutdown_p50_ms": statistics.median(stops),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=200)
    parser.add_argument("--colds", type=int, default=10)
    args = parser.parse_args()
    rows = []
    for ext_name, layers in (("none", []), ("recorder", [RECORDER])):
        for freeze in (True, False):
            row = {"extension": ext_name, "freeze": freeze}
            row.update(bench_invoke(layers, freeze, args.invokes))
            row.update(bench_cold(layers, freeze, args.colds))
            rows.append(row)
    header = (
        f"{'extension':<10} {'freezer':<10} {'invoke p50':>11} {'invoke p95':>11} {'duration p50':>13} "
        f"{'cold start':>11} {'init':>8} {'shutdown':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['extension']:<10} {r['freezer']:<10} {r['wall_p50_ms']:>9.2f}ms {r['wall_p95_ms']:>9.2f}ms "
            f"{r['duration_p50_ms']:>11.2f}ms {r['start_p50_ms']:>9.1f}ms {r['init_p50_ms'] or 0:>6.1f}ms "
            f"{r['shutdown_p50_ms']:>7.1f}ms"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
