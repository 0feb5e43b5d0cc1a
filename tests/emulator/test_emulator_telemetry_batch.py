"""The pure batching and backoff rules of one subscription (contract section 3), driven by a fake clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zerolag.emulator.telemetry_batch import CAPACITY_BATCHES, Backoff, BatchBuffer
from zerolag.lambda_wire import TelemetryEvent


def ev(i: int) -> TelemetryEvent:
    return {"time": "2024-01-01T00:00:00.000Z", "type": "function", "record": f"line {i}"}


def buf(items: int = 1000, size: int = 262144, timeout_ms: int = 1000) -> BatchBuffer:
    return BatchBuffer(max_items=items, max_bytes=size, timeout_ms=timeout_ms)


def test_empty_buffer_is_never_ready() -> None:
    """Nothing buffered: not ready, even when forced, and no due time."""
    b = buf()
    assert not b.ready(1e9, force=True)
    assert b.due_at() is None


def test_timeout_counts_from_the_oldest_event() -> None:
    """A batch is due timeoutMs after the oldest buffered event, not the newest."""
    b = buf(timeout_ms=1000)
    b.add(ev(0), 10, now=5.0)
    b.add(ev(1), 10, now=5.9)
    assert b.due_at() == 6.0
    assert not b.ready(5.999)
    assert b.ready(6.0)


def test_max_items_makes_a_batch_ready_at_once() -> None:
    """maxItems events make the buffer ready before the timeout."""
    b = buf(items=1000)
    for i in range(999):
        b.add(ev(i), 10, now=0.0)
    assert not b.ready(0.0)
    b.add(ev(999), 10, now=0.0)
    assert b.ready(0.0)
    assert len(b.take()) == 1000
    assert len(b) == 0


def test_max_bytes_makes_a_batch_ready_and_bounds_it() -> None:
    """Reaching maxBytes makes the buffer ready; a batch stays within maxBytes unless one event exceeds it."""
    b = buf(size=262144)
    for i in range(3):
        b.add(ev(i), 100000, now=0.0)
    assert b.ready(0.0)
    assert len(b.take()) == 2
    assert b.pending_bytes == 100000
    big = buf(size=262144)
    big.add(ev(0), 300000, now=0.0)
    assert len(big.take()) == 1


def test_force_makes_a_partial_batch_ready() -> None:
    """A forced flush makes a single young event ready."""
    b = buf(timeout_ms=30000)
    b.add(ev(0), 10, now=0.0)
    assert not b.ready(1.0)
    assert b.ready(1.0, force=True)


def test_overflow_is_dropped_and_counted() -> None:
    """Beyond capacity, events are refused and counted; take_dropped reports and resets the counts."""
    b = buf(items=1000)
    capacity = 1000 * CAPACITY_BATCHES
    accepted = [b.add(ev(i), 7, now=0.0) for i in range(capacity + 3)]
    assert accepted.count(False) == 3
    assert b.take_dropped() == (3, 21)
    assert b.take_dropped() == (0, 0)


def test_byte_capacity_also_drops() -> None:
    """An event that would push the buffer past its byte capacity is dropped."""
    b = buf(size=262144)
    assert b.add(ev(0), 262144 * CAPACITY_BATCHES, now=0.0)
    assert not b.add(ev(1), 1, now=0.0)
    assert b.dropped_records == 1


@given(
    st.lists(st.integers(min_value=1, max_value=300000), max_size=200),
    st.integers(min_value=1000, max_value=10000),
    st.integers(min_value=262144, max_value=1048576),
)
def test_batches_preserve_order_and_respect_limits(sizes: list[int], max_items: int, max_bytes: int) -> None:
    """Whatever arrives: accepted + dropped = offered, order is kept, and every batch respects the limits."""
    b = buf(items=max_items, size=max_bytes)
    accepted = [i for i, size in enumerate(sizes) if b.add(ev(i), size, now=0.0)]
    out: list[str] = []
    while len(b):
        batch = b.take()
        assert 1 <= len(batch) <= max_items
        assert len(batch) == 1 or sum(e.size for e in batch) <= max_bytes
        out.extend(str(e.event["record"]) for e in batch)
    assert out == [f"line {i}" for i in accepted]
    assert len(accepted) + b.take_dropped()[0] == len(sizes)
    assert b.pending_bytes == 0


def test_backoff_grows_is_capped_and_gives_up() -> None:
    """Delays double from base up to the cap (with jitter in [50 %, 100 %]) and stop after max_attempts."""
    backoff = Backoff(base_s=0.1, cap_s=1.0, max_attempts=6)
    top = [backoff.delay(n, lambda: 1.0) for n in range(1, 6)]
    assert top == [0.1, 0.2, 0.4, 0.8, 1.0]
    assert backoff.delay(3, lambda: 0.0) == 0.2
    assert backoff.delay(6, lambda: 1.0) is None
