"""The memory budgets: reservations that do not fit are refused (or wait, then give up); an oversized one is
clamped so the largest accepted request still runs, alone; everything taken is given back."""

from __future__ import annotations

import threading

import pytest

from zerolag.collector.limits import Budget, BudgetExceeded, decode_cost
from zerolag.otlp import CONTENT_TYPE_JSON, CONTENT_TYPE_PROTOBUF


def test_try_take_refuses_what_does_not_fit_and_give_returns_it() -> None:
    budget = Budget(100)
    assert budget.try_take(60)
    assert not budget.try_take(50)
    budget.give(60)
    assert budget.try_take(50)
    assert budget.used == 50
    assert budget.peak == 60


def test_a_reservation_larger_than_the_budget_runs_alone() -> None:
    budget = Budget(100)
    assert budget.try_take(1000)  # clamped to 100: it fits an empty budget
    assert not budget.try_take(1)
    budget.give(1000)
    assert budget.used == 0


def test_hold_waits_for_room_and_gives_up_after_its_timeout() -> None:
    budget = Budget(100)
    budget.try_take(80)
    with pytest.raises(BudgetExceeded):
        with budget.hold(50, timeout=0.05):
            pass
    entered = threading.Event()

    def waiter() -> None:
        with budget.hold(50, timeout=30):
            entered.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    assert not entered.wait(0.1)  # still no room
    budget.give(80)
    assert entered.wait(30)
    thread.join(30)
    assert budget.used == 0


def test_json_is_estimated_dearer_than_protobuf() -> None:
    assert decode_cost(CONTENT_TYPE_JSON, 1000) > decode_cost(CONTENT_TYPE_PROTOBUF, 1000) > 1000
