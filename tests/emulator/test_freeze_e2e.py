"""Freeze between invocations (contract section 2, "Freeze"): a frozen sandbox runs no code.

The handler's background thread records wall-clock ticks every 5 ms. Between two invocations the test leaves
the sandbox idle for a window; with freezing on, no tick may fall inside it. The window is a time span to
observe, not a synchronisation: the control case (freeze off) shows the same test sees ticks there.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

SCENARIOS = Path(__file__).resolve().parents[2] / "examples" / "emulator" / "scenarios"
IDLE_S = 0.5


def _ticks_in_idle_window(freeze: bool | str) -> tuple[list[float], str]:
    with Sandbox(code=SCENARIOS, handler="app.ticker", freeze=freeze) as sb:
        sb.invoke({})  # starts the ticker thread
        sb.invoke({})  # clears the ticks so far
        window_start = time.time()
        time.sleep(IDLE_S)  # the idle window under observation
        window_end = time.time()
        ticks = sb.invoke({}).json()
        kind = sb.freezer_kind
    return [t for t in ticks if window_start < t < window_end], kind


def test_frozen_sandbox_runs_no_background_thread() -> None:
    """With the default freezer (cgroup where available) the background counter does not advance."""
    inside, kind = _ticks_in_idle_window(True)
    assert kind in ("cgroup-v1", "cgroup-v2", "sigstop")
    assert inside == []


def test_sigstop_fallback_freezes_too() -> None:
    """The SIGSTOP/SIGCONT fallback stops the background thread as well."""
    inside, kind = _ticks_in_idle_window("signal")
    assert kind == "sigstop"
    assert inside == []


def test_without_freeze_the_thread_keeps_running() -> None:
    """Control: freeze=False lets the background thread tick while idle (so the tests above can fail)."""
    inside, kind = _ticks_in_idle_window(False)
    assert kind == "none"
    assert len(inside) > 0
