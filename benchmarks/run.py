"""Run every ``benchmarks/bench_*.py`` in turn, each as its own process, and print their tables.

Each benchmark is standalone (``python benchmarks/bench_x.py`` works on its own) and prints its own table;
this runner streams their output as it comes, then prints a summary: which ran, how long each took, and
which failed. It exits non-zero when any benchmark failed or timed out.

Usage: ``.venv/bin/python benchmarks/run.py [-k PATTERN] [--list] [--timeout SECONDS] [-- ARGS...]``
(``make bench`` runs it with no arguments). Arguments after ``--`` are passed to every benchmark.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Outcome:
    name: str
    seconds: float
    status: str  # "ok", "failed (exit N)" or "timed out"


def discover(directory: Path = HERE, pattern: str | None = None) -> list[Path]:
    """The benchmark scripts, sorted by name, optionally only those whose name contains ``pattern``."""
    scripts = sorted(directory.glob("bench_*.py"))
    return [s for s in scripts if pattern is None or pattern in s.stem]


def run_one(script: Path, args: list[str], timeout: float) -> Outcome:
    """Run ``script`` with this interpreter, its output going straight to ours."""
    print(f"\n=== {script.stem} " + "=" * max(0, 70 - len(script.stem)), flush=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    started = time.monotonic()
    try:
        code = subprocess.run(
            [sys.executable, str(script), *args], check=False, cwd=HERE.parent, env=env, timeout=timeout
        ).returncode
    except subprocess.TimeoutExpired:
        return Outcome(script.stem, time.monotonic() - started, "timed out")
    status = "ok" if code == 0 else f"failed (exit {code})"
    return Outcome(script.stem, time.monotonic() - started, status)


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
    print("\n=== summary " + "=" * 63)
    print(summary(outcomes))
    return 0 if all(o.status == "ok" for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
