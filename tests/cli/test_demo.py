"""`zerolag demo` end to end: it builds the layer, runs the example functions in the emulator, stores their
telemetry in the collector, prints the comparison and where to look, and ends by itself (or serves)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

DEMO = [sys.executable, "-m", "zerolag.cli.main", "demo", "--invocations", "5"]


def _traces(db: Path, *args: str) -> str:
    argv = [sys.executable, "-m", "zerolag.cli.main", "traces", "--db", str(db), *args]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_demo_runs_the_whole_loop_and_ends(tmp_path: Path) -> None:
    """The demo exits 0 with the summary, the comparison table, the overview URL (printed first) and the
    traces commands, and the collector's SQLite file holds the API, failing and timed-out invocations."""
    result = subprocess.run(
        [*DEMO, "--dir", str(tmp_path)], capture_output=True, text=True, timeout=540, env=os.environ.copy()
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for function in ("orders-api", "payments", "report-builder", "checkout-metrics"):
        assert re.search(rf"^{function}\s+\d+", out, re.MULTILINE), function
    for row in ("no telemetry (baseline)", "agent -> collector 3.5 ms away", "agent -> zerolag extension"):
        assert row in out
    assert re.search(r"agent -> zerolag extension\s+[\d.]+ ms\s+[\d.]+ ms\s+[+-][\d.]+ ms vs layer", out)
    stored = int(re.search(r"The collector holds (\d+) invocations", out).group(1))  # type: ignore[union-attr]
    assert stored >= 22
    first_url = re.search(r"http://\S+", out)
    assert first_url, out
    overview = r"http://127\.0\.0\.1:\d+/\?since=1h&key=zl_demo_\S+"
    assert re.fullmatch(overview, first_url.group(0)), "the first URL printed is the overview's"
    assert re.search(r"overview\s+http://127\.0\.0\.1:\d+/\?since=1h&key=zl_demo_", out)
    db = tmp_path / "zerolag-demo.db"
    assert f"zerolag traces --db {db} list" in out
    assert (tmp_path / "zerolag-layer.zip").is_file()
    assert "orders-api" in _traces(db, "list", "--function", "orders-api")
    assert "payments" in _traces(db, "list", "--status", "error")
    timed_out = _traces(db, "list", "--function", "report-builder")
    assert re.search(r"report-builder .*(TIMEOUT|ERROR)", timed_out), timed_out


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_demo_serve_keeps_the_collector_up_until_interrupted(tmp_path: Path) -> None:
    """With --serve the collector answers after the demo's run, and Ctrl-C (SIGINT) ends it cleanly."""
    process = subprocess.Popen(
        [*DEMO, "--serve", "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:  # each line as the demo prints it; ends if the process exits
            lines.append(line)
            if "press Ctrl-C" in line:
                break
        output = "".join(lines)
        match = re.search(r"overview\s+(http://127\.0\.0\.1:\d+)/\?since=1h&key=(\S+)", output)
        assert match, output + (
            process.stderr.read() if process.poll() is not None and process.stderr else ""
        )
        base, key = match.groups()
        request = urllib.request.Request(f"{base}/api/invocations?limit=5", headers={"X-Api-Key": key})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
            assert json.loads(response.read())
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=120) == 0
        with pytest.raises(OSError):
            urllib.request.urlopen(f"{base}/healthz", timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
