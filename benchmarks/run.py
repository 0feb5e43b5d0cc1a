"""Run every ``benchmarks/bench_*.py`` in turn, each as its own process, and print their tables.

Each benchmark is standalone (``python benchmarks/bench_x.py`` works on its own) and prints its own table;
this runner streams their output as it comes, then prints a summary: which ran, how long each took, and
which failed. It exits non-zero when any benchmark failed or timed out.

Usage: ``.venv/bin/python benchmarks/run.py [-k PATTERN] [--list] [--timeout SECONDS] [-- ARGS...]``
(``make bench`` runs it with no arguments). Arguments after ``--`` are passed to every benchmark.

A benchmark line ``GOAL | measure | measured | goal | verdict`` is a row of a performance goal (issue 13's
table); the runner repeats every such row at the end, in one table, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    status: str  # "ok", "failed (exit N)" or "timed out"
    goals: tuple[str, ...] = ()  # the benchmark's "GOAL | ..." lines


def discover(directory: Path = HERE, pattern: str | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name, optionally only those whose name contains ``pattern``."""
    scripts = sorted(directory.glob("bench_*.py"))
    return [s for s in scripts if pattern is None or pattern in s.stem]


def run_one(script: Path, args: list[str], timeout: float) -> Outcome:
    """Run ``script`` with this interpreter, its output going straight to ours (and its GOAL rows kept)."""
    print(f"\n=== {script.stem} " + "=" * max(0, 70 - len(script.stem)), flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    started = time.monotonic()
    goals: list[str] = []
    proc = subprocess.Popen(
        [sys.executable, str(script), *args], cwd=HERE.parent, env=env, stdout=subprocess.PIPE, text=True
    )
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith("GOAL |"):
                goals.append(line.strip())
        code = proc.wait()
    finally:
        timed_out = not timer.is_alive() and proc.returncode is not None and proc.returncode < 0
        timer.cancel()
    if timed_out:
        return Outcome(script.stem, time.monotonic() - started, "timed out", tuple(goals))
    status = "ok" if code == 0 else f"failed (exit {code})"
    return Outcome(script.stem, time.monotonic() - started, status, tuple(goals))


def machine() -> str:
    """The machine the numbers come from: CPU model, cores, load, Python."""
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((ln.split(":", 1)[1].strip() for ln in info if ln.startswith("model name")), cpu)
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, load average {load:.1f} at the end, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def goals_table(outcomes: list[Outcome]) -> str:
    """Every GOAL row of the run, as one markdown table."""
    rows = [g for o in outcomes for g in o.goals]
    if not rows:
        return ""
    lines = ["| measure | measured | goal | verdict |", "|---|---|---|---|"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:]]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append(f"\n(machine: {machine()})")
    return "\n".join(lines)


def summary(outcomes: list[Outcome]) -> str:
    """The closing table: one line per benchmark."""
    width = max([len(o.name) for o in outcomes] + [9])
    lines = [f"{'benchmark':<{width}}  {'time':>8}  status", f"{'-' * width}  {'-' * 8}  {'-' * 16}"]
    lines += [f"{o.name:<{width}}  {o.seconds:>7.1f}s  {o.status}" for o in outcomes]
    failed = sum(o.status != "ok" for o in outcomes)
    lines.append(f"benchmarks: {len(outcomes) - failed} ok, {failed} failed")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", dest="pattern", help="only benchmarks whose name contains this")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--dir", type=Path, default=HERE, help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per benchmark")
    parser.add_argument("args", nargs="*", help="arguments passed to every benchmark (after --)")
    options = parser.parse_args(argv)
    scripts = discover(options.dir, options.pattern)
    if options.list:
        print("\n".join(s.stem for s in scripts))
        return 0
    if not scripts:
        print("no benchmarks match", file=sys.stderr)
        return 1
    outcomes = [run_one(script, options.args, options.timeout) for script in scripts]
    table = goals_table(outcomes)
    if table:
        print("\n=== goals " + "=" * 65)
        print(table)
    print("\n=== summary " + "=" * 63)
    print(summary(outcomes))
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
