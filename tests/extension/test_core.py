"""The pure core: buffer and batcher, spool index, backoff, Retry-After, circuit breaker."""

from __future__ import annotations

import random

from ext_helpers import traces_pb
from hypothesis import given
from hypothesis import strategies as st

from zerolag.extension.backoff import Backoff, parse_retry_after, retryable
from zerolag.extension.breaker import CircuitBreaker
from zerolag.extension.buffer import Chunk, MemoryBuffer
from zerolag.extension.spool import SpoolIndex, parse_name


def test_batches_concatenate_chunks_of_one_signal_up_to_the_batch_size() -> None:
    """A batch is the oldest signal's chunks, oldest first, concatenated, never past batch_bytes (but >=
    1)."""
    buf = MemoryBuffer(10_000)
    for i in range(5):
        assert buf.add(Chunk("traces", b"x" * 100, 1, float(i)))
    assert buf.add(Chunk("logs", b"y" * 50, 2, 10.0))
    batch = buf.take_batch(250)
    assert batch is not None
    assert batch.signal == "traces"
    assert len(batch.chunks) == 2
    assert batch.payload() == b"x" * 200
    big = buf.take_batch(10)
    assert big is not None
    assert len(big.chunks) == 1


def test_concatenated_protobuf_requests_decode_as_one_request() -> None:
    """Two OTLP protobuf requests of one signal concatenated are one valid request holding both."""
    from zerolag.otlp import protobuf

    merged = protobuf.decode("traces", traces_pb(["a", "b"]) + traces_pb(["c"]))
    names = [s["name"] for r in merged["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]]
    assert names == ["a", "b", "c"]


def test_buffer_refuses_beyond_capacity_and_requeue_restores_order() -> None:
    """add refuses what does not fit; a failed batch goes back to the front in its order."""
    buf = MemoryBuffer(300)
    chunks = [Chunk("traces", bytes([i]) * 100, 1, float(i)) for i in range(3)]
    assert all(buf.add(c) for c in chunks)
    assert not buf.add(Chunk("traces", b"z", 1, 9.0))
    batch = buf.take_batch(200)
    assert batch is not None
    assert buf.requeue(batch)
    again = buf.take_batch(1000)
    assert again is not None
    assert again.chunks == chunks


@given(
    st.lists(st.tuples(st.sampled_from(["traces", "metrics", "logs"]), st.integers(1, 500)), max_size=60),
    st.integers(1, 2000),
    st.integers(100, 5000),
)
def test_buffer_never_exceeds_its_bound_and_loses_nothing(
    ops: list[tuple[str, int]], batch_bytes: int, capacity: int
) -> None:
    """Whatever arrives, memory stays within capacity, and refused + drained chunks account for every one."""
    buf = MemoryBuffer(capacity)
    accepted = refused = 0
    for i, (signal, size) in enumerate(ops):
        if buf.add(Chunk(signal, b"a" * size, 1, float(i))):  # type: ignore[arg-type]
            accepted += 1
        else:
            refused += 1
        assert buf.bytes <= capacity
    taken = 0
    while (batch := buf.take_batch(batch_bytes)) is not None:
        assert len({c.signal for c in batch.chunks}) == 1
        taken += len(batch.chunks)
    assert taken == accepted
    assert accepted + refused == len(ops)
    assert buf.bytes == 0


def test_spool_index_evicts_the_oldest_to_stay_within_its_bound() -> None:
    """New spool entries evict the oldest ones; an entry larger than the bound is refused."""
    index = SpoolIndex(250)
    first, _ = index.new_entry("traces", 1, 100)
    index.new_entry("logs", 2, 100)
    third, evicted = index.new_entry("metrics", 3, 100)
    assert evicted == [first]
    assert index.bytes == 200
    assert index.new_entry("traces", 1, 251) == (None, [])
    assert third is not None
    assert parse_name(third.name, 100) == third


def test_backoff_grows_with_jitter_and_honours_retry_after_up_to_the_cap() -> None:
    """Delays stay within [base/2, base*2^(n-1)] capped; Retry-After wins when longer, never past the cap."""
    backoff = Backoff(0.1, 5.0, random.Random(1))
    for attempt in range(1, 12):
        delay = backoff.delay(attempt)
        assert 0.05 <= delay <= min(5.0, 0.1 * 2 ** (attempt - 1))
    assert backoff.delay(1, retry_after_s=3.0) == 3.0
    assert backoff.delay(1, retry_after_s=60.0) == 5.0


def test_retry_after_parses_seconds_and_http_dates() -> None:
    """Retry-After is delta-seconds or an HTTP date; junk is ignored."""
    assert parse_retry_after("7", 0.0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4.0) == 6.0
    assert parse_retry_after("soon", 0.0) is None
    assert parse_retry_after(None, 0.0) is None
    assert retryable(429)
    assert retryable(503)
    assert not retryable(400)
    assert not retryable(413)


def test_breaker_opens_after_failures_probes_once_and_closes_on_success() -> None:
    """closed → open after N failures → one half-open probe → closed on success, re-opened longer on
    failure."""
    breaker = CircuitBreaker(2, 1.0, 8.0)
    breaker.record_failure(0.0)
    assert breaker.allow(0.0)
    breaker.record_failure(0.0)
    assert breaker.state(0.5) == "open"
    assert not breaker.allow(0.5)
    assert breaker.allow(1.0)
    assert not breaker.allow(1.0)
    breaker.record_failure(1.0)
    assert breaker.state(2.5) == "open"
    assert breaker.retry_in(2.5) == 0.5
    assert breaker.allow(3.0)
    breaker.record_success()
    assert breaker.state(3.0) == "closed"
    assert breaker.allow(3.0)
