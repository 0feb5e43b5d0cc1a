"""The extension's export path under faults: one table row per fault a backend can produce.

    .venv/bin/python benchmarks/bench_faults.py [--quick]

Each row is one sandbox in the emulator (the real layer, the real awslambdaric, a function sending one OTLP
request of 3 uniquely named spans per invocation): a healthy stretch, then the fault for N invocations, then
a healthy stretch, then a spindown. The backend is the scripted one of the test suite
(tests/extension/ext_faults.py). Columns: spans the function sent; spans delivered (once); deliveries beyond
the first (duplicates) and the extension's own ``duplicate_risk`` count; spans lost, by the loss counter
that accounts for them (``unaccounted`` = lost without one: must be 0); the extension's peak RSS; the worst
and median invocation duration, and the worst time the extension added after the response
(post-runtime, bounded by the 200 ms flush budget). The ``none`` row is the same run with no
fault: the comparison for every other row. The last row is the whole test-suite scenario (every fault in
turn, 535 invocations, freezes, an outage right before the spindown).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests" / "extension"))

from ext_faults import FAULTS, OK, Phase, Report, full_scenario, loss_causes, run_scenario  # noqa: E402


def row(name: str, report: Report) -> str:
    s = report.summary
    sent = len(report.sent_names) + len(report.poisoned)
    delivered = sum(1 for n in report.sent_names if report.delivered[n])
    causes = loss_causes(s)
    unaccounted = len(report.lost)
    lost = ", ".join(f"{k} {v}" for k, v in causes.items()) or "-"
    if unaccounted:
        lost += f", unaccounted {unaccounted}"
    durations = report.durations_ms
    risk = s.get("duplicate_risk", 0)
    return (
        f"{name:<18} {len(durations):>5} {sent:>6} {delivered:>6} {report.duplicated:>4}/{risk:<5}"
        f" {lost:<28} {s.get('rss_peak_kb', 0) / 1024:>6.1f} {max(durations):>8.1f}"
        f" {statistics.median(durations):>6.1f} {max(report.post_runtime_ms):>7.1f}"
    )


HEADER = (
    f"{'fault':<18} {'inv':>5} {'spans':>6} {'deliv':>6} {'dup/risk':>10} {'lost by cause (items)':<28}"
    f" {'RSS MB':>6} {'worst ms':>8} {'p50 ms':>6} {'ext ms':>7}"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer invocations per fault, no full scenario")
    args = parser.parse_args()
    n = 20 if args.quick else 50
    rows: list[tuple[str, list[Phase]]] = [("none", [OK, Phase("ok", n, OK.setup), OK])]
    rows += [(name, [OK, Phase(name, n, fault.setup, fault.poison), OK]) for name, fault in FAULTS.items()]
    if not args.quick:
        rows.append(("all (test suite)", full_scenario()))
    print(HEADER, flush=True)
    print("-" * len(HEADER), flush=True)
    failed = False
    for name, phases in rows:
        with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
            report = run_scenario(phases, Path(tmp))
        print(row(name, report), flush=True)
        failed = failed or bool(report.lost)
    print(
        "\nlost by cause: the extension's loss counters (docs/extension.md); 'refused' = the backend's 400"
        " for the poisoned requests (expected). Telemetry API spans/logs travel too and are counted."
        "\nworst/p50 ms: invocation duration; ext ms: the worst time the extension added after the"
        " function's response (post_runtime_ms; the flush budget is 200 ms)."
    )
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
