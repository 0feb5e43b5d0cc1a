"""benchmarks/run.py: runs each bench_*.py as its own process, streams its table, and summarises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(RUNNER), *args], capture_output=True, text=True, timeout=120)


def _bench_dir(tmp_path: Path) -> Path:
    (tmp_path / "bench_alpha.py").write_text("import sys\nprint('| alpha | 1.0 ms |', sys.argv[1:])\n")
    (tmp_path / "bench_beta.py").write_text("import sys\nprint('| beta |')\nsys.exit(3)\n")
    (tmp_path / "helper.py").write_text("raise SystemExit('not a benchmark')\n")
    return tmp_path


def test_runs_every_benchmark_in_order_and_reports_failures(tmp_path: Path) -> None:
    """Both bench_ scripts run (not other files), their output appears in order, a failure makes exit 1."""
    result = _run("--dir", str(_bench_dir(tmp_path)), "--", "--quick")
    assert result.returncode == 1
    out = result.stdout
    assert out.index("| alpha | 1.0 ms | ['--quick']") < out.index("| beta |") < out.index("=== summary")
    assert "not a benchmark" not in out + result.stderr
    assert "failed (exit 3)" in out
    assert "benchmarks: 1 ok, 1 failed" in out


def test_pattern_selects_benchmarks(tmp_path: Path) -> None:
    """-k runs only the benchmarks whose name contains the pattern; all ok means exit 0."""
    result = _run("--dir", str(_bench_dir(tmp_path)), "-k", "alpha")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| beta |" not in result.stdout
    assert "benchmarks: 1 ok, 0 failed" in result.stdout


def test_lists_the_real_benchmarks() -> None:
    """--list names the repository's benchmarks without running them."""
    result = _run("--list")
    assert result.returncode == 0
    names = result.stdout.split()
    assert names == sorted(names)
    assert all(name.startswith("bench_") for name in names)
    assert names


def test_goal_rows_are_collected_into_one_table_with_the_machine(tmp_path: Path) -> None:
    """Every ``GOAL |`` line a benchmark prints is repeated at the end in one table, with the machine."""
    (tmp_path / "bench_one.py").write_text("print('GOAL | per span | 1.2 µs | <= 3 µs | met')\n")
    (tmp_path / "bench_two.py").write_text("print('GOAL | hand-off | 90 µs | <= 150 µs | met')\n")
    result = _run("--dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    table = result.stdout[result.stdout.index("=== goals") :]
    assert table.index("| per span | 1.2 µs | <= 3 µs | met |") < table.index("| hand-off | 90 µs |")
    assert "(machine: " in table
    assert table.index("(machine: ") < table.index("=== summary")
