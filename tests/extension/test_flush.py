"""Flush strategies: parsing and the decisions of each one, driven by an explicit clock."""

from __future__ import annotations

import pytest

from zerolag.extension.flush import BufferState, FlushPolicy, parse_flush

EMPTY = BufferState(0, 1000, 0.0)
SOME = BufferState(100, 1000, 0.1)


def policy(raw: str) -> FlushPolicy:
    return FlushPolicy(parse_flush(raw), budget_s=0.2, margin_s=0.05, max_delay_s=10.0)


@pytest.mark.parametrize("raw", ["periodic", "periodic,x", "periodic,0", "sometimes", ""])
def test_invalid_strategies_are_refused_with_a_message(raw: str) -> None:
    """Anything but end, periodic,<ms>, continuous and adaptive is a ValueError."""
    with pytest.raises(ValueError):
        parse_flush(raw)


def test_end_flushes_every_invocation_within_the_deadline_budget() -> None:
    """end: never in the background; at the end, min(budget, deadline - margin - now)."""
    p = policy("end")
    assert p.background_wait(0.0, SOME) == float("inf")
    assert p.end_plan(10.0, 10.1, SOME).flush_s == pytest.approx(0.05)
    assert p.end_plan(10.0, 100.0, SOME).flush_s == pytest.approx(0.2)
    assert p.end_plan(10.0, 10.01, SOME).flush_s == 0.0


def test_continuous_sends_in_the_background_and_never_holds_the_end() -> None:
    """continuous: background sends whenever there is data; the end plan costs nothing."""
    p = policy("continuous")
    assert p.background_wait(0.0, SOME) == 0.0
    assert p.background_wait(0.0, EMPTY) == float("inf")
    plan = p.end_plan(0.0, 5.0, SOME)
    assert (plan.flush_s, plan.wait_s) == (0.0, 0.0)


def test_periodic_waits_for_its_interval() -> None:
    """periodic,<ms>: sends when the interval since the last flush has passed."""
    p = policy("periodic,1000")
    p.on_flushed(100.0)
    assert p.background_wait(100.4, SOME) == pytest.approx(0.6)
    assert p.end_plan(100.4, 200.0, SOME).flush_s == 0.0
    assert p.end_plan(101.5, 200.0, SOME).flush_s == pytest.approx(0.2)


def test_adaptive_holds_nothing_while_invocations_are_frequent() -> None:
    """adaptive at steady load (20 ms gaps): background sends, no end flush, no wait for a send in flight."""
    p = policy("adaptive")
    for i in range(10):
        p.on_invoke(i * 0.02)
    plan = p.end_plan(0.2, 3.0, SOME)
    assert (plan.flush_s, plan.wait_s, plan.reason) == (0.0, 0.0, "adaptive-frequent")
    assert p.background_wait(0.2, SOME) == 0.0


def test_adaptive_flushes_at_the_end_when_the_next_invocation_is_unlikely_soon() -> None:
    """adaptive: sparse gaps (or warm-up) → end flush within the budget; stale data or high water too."""
    p = policy("adaptive")
    assert p.end_plan(0.0, 3.0, SOME).reason == "adaptive-sparse"  # no rhythm known yet
    for i in range(10):
        p.on_invoke(i * 30.0)
    assert p.end_plan(300.0, 303.0, SOME).flush_s == pytest.approx(0.2)
    q = policy("adaptive")
    for i in range(10):
        q.on_invoke(i * 0.02)
    assert q.end_plan(1.0, 3.0, BufferState(100, 1000, 11.0)).reason == "adaptive-stale"
    assert q.end_plan(1.0, 3.0, BufferState(600, 1000, 0.1)).reason == "adaptive-high-water"


def test_adaptive_holds_nothing_at_sparse_load_within_the_max_delay() -> None:
    """adaptive at 1 invocation per 2.5 s (max delay 10 s): no end flush (nothing billed); the data left
    during the invocation or leaves at the next thaw, at most one gap (< max delay) later."""
    p = policy("adaptive")
    for i in range(10):
        p.on_invoke(i * 2.5)
    plan = p.end_plan(22.6, 25.0, SOME)
    assert (plan.flush_s, plan.wait_s, plan.reason) == (0.0, 0.0, "adaptive-sparse-hold")


def test_adaptive_flushes_when_waiting_a_gap_could_exceed_the_max_delay() -> None:
    """The bound holds for the worst recent gap, not the typical one, and counts the age of what waits."""
    p = policy("adaptive")
    for t in (0.0, 2.5, 5.0, 7.5, 16.0, 18.5, 21.0, 23.5):  # one gap of 8.5 s among 2.5 s ones
        p.on_invoke(t)
    assert p.end_plan(23.6, 30.0, SOME).reason == "adaptive-sparse-hold"  # 8.5 + 0.1 <= 10
    assert p.end_plan(23.6, 30.0, BufferState(100, 1000, 2.0)).reason == "adaptive-sparse"  # 8.5 + 2 > 10
    q = policy("adaptive")
    for t in (0.0, 2.5, 5.0, 17.0, 19.5):  # a 12 s gap: longer than the max delay by itself
        q.on_invoke(t)
    assert q.end_plan(19.6, 30.0, SOME).reason == "adaptive-sparse"
