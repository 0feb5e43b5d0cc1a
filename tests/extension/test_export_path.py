"""The export path's fault handling, in-process against a real backend on loopback (real sockets, real sender
threads): SHUTDOWN's last chance despite an open breaker, the background probe when the sandbox runs again,
400/413 splitting, and sender threads that survive any exception without leaking a secret."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_helpers import traces_pb

from zerolag.extension.app import build_pipeline
from zerolag.extension.backoff import parse_retry_after
from zerolag.extension.buffer import Batch, Chunk
from zerolag.extension.config import load_config
from zerolag.extension.counters import Counters
from zerolag.extension.pipeline import RESUME_PROBE_S, Pipeline, split_batch


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


class Clock:
    """The monotonic clock, plus time the test skips (what a freeze does to the pipeline's timers)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.skipped


def make(backend: Backend, tmp_path: Path, clock: Clock | None = None, **env: str) -> Pipeline:
    base = {
        "ZEROLAG_OTLP_ENDPOINT": backend.endpoint,
        "ZEROLAG_SPOOL_DIR": str(tmp_path / "spool"),
        "ZEROLAG_SEND_TIMEOUT_MS": "10000",
        "ZEROLAG_FLUSH": "end",
    }
    pipeline = build_pipeline(load_config({**base, **env}), Counters())
    if clock is not None:
        pipeline.clock = clock
    pipeline.start()
    return pipeline


def submit(pipeline: Pipeline, prefix: str, requests: int, per_request: int = 2) -> list[str]:
    names = []
    for r in range(requests):
        batch = [f"{prefix}-{r}.{k}" for k in range(per_request)]
        pipeline.submit("traces", traces_pb(batch), len(batch))
        names += batch
    return names


def open_the_breaker(pipeline: Pipeline, backend: Backend) -> None:
    backend.set_mode("status", status=503)
    for _ in range(20):
        pipeline.flush(pipeline.clock() + 0.2)
        if pipeline.breaker.state(pipeline.clock()) == "open":
            return
    raise AssertionError("the breaker did not open")


def test_final_flush_sends_everything_although_the_breaker_is_open(backend: Backend, tmp_path: Path) -> None:
    """The breaker is open for a minute when SHUTDOWN comes and the backend is back: the final flush sends
    anyway, and everything arrives."""
    pipeline = make(backend, tmp_path, ZEROLAG_BREAKER_OPEN_MS="60000", ZEROLAG_RETRY_MAX_MS="60000")
    names = submit(pipeline, "s", 20)
    open_the_breaker(pipeline, backend)
    backend.set_mode("ok")
    assert not pipeline.flush(time.monotonic() + 0.3)  # during invocations the open breaker holds
    assert pipeline.final_flush(time.monotonic() + 5.0)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)
    assert pipeline.unsent() == {}


def test_final_flush_tries_every_batch_before_retrying_one(backend: Backend, tmp_path: Path) -> None:
    """A backend that answers 503 to everything at SHUTDOWN: every batch gets an attempt (none is starved by
    the retries of the first), and what was not sent is reported per signal, exactly."""
    pipeline = make(
        backend,
        tmp_path,
        ZEROLAG_BATCH_BYTES="1024",
        ZEROLAG_BREAKER_OPEN_MS="60000",
        ZEROLAG_RETRY_MAX_MS="60000",
    )
    submit(pipeline, "a", 30, per_request=10)
    assert all(len(c.data) > 512 for c in pipeline.store.memory.chunks())  # so one request per 1 KiB batch
    batches = 30
    open_the_breaker(pipeline, backend)
    before = backend.attempts
    assert not pipeline.final_flush(time.monotonic() + 1.5)
    assert backend.attempts - before >= batches
    pipeline.quiesce(0.5)
    assert pipeline.unsent() == {"traces": 300}
    assert pipeline.spill_remaining() == 300


def test_final_flush_against_a_dead_backend_keeps_memory_bounded(backend: Backend, tmp_path: Path) -> None:
    """SHUTDOWN with the backend down and a spool far larger than memory: every entry is tried, but the
    failed ones wait in memory only up to the buffer's bound (the rest back in the spool), and all of it is
    reported unsent and kept."""
    backend.stop()
    pipeline = make(backend, tmp_path, ZEROLAG_BUFFER_BYTES="65536", ZEROLAG_BATCH_BYTES="8192")
    for r in range(60):
        pipeline.submit("traces", traces_pb([f"m-{r}.{k}" + "x" * 300 for k in range(20)]), 20)
    assert pipeline.counters.get("spooled") > 0
    assert not pipeline.final_flush(time.monotonic() + 1.0)
    assert sum(b.size for b in pipeline._final_retry) <= 65536
    pipeline.quiesce(0.5)
    assert pipeline.spill_remaining() == 1200
    assert pipeline.counters.get("dropped") == 0


def test_open_breaker_probes_in_the_background_when_the_sandbox_runs_again(
    backend: Backend, tmp_path: Path
) -> None:
    """After an outage the breaker is open for a minute. When the sandbox runs again more than
    RESUME_PROBE_S after the last failure, one probe goes out at once, in the background (no flush is
    called, and the strategy is ``end``), and the backend that came back gets the data."""
    clock = Clock()
    pipeline = make(backend, tmp_path, clock, ZEROLAG_BREAKER_OPEN_MS="60000", ZEROLAG_RETRY_MAX_MS="60000")
    names = submit(pipeline, "p", 5)
    open_the_breaker(pipeline, backend)
    backend.set_mode("ok")
    pipeline.quiesce(0.5)
    attempts = backend.attempts
    pipeline.begin_invocation()  # too soon after the failure: no probe
    assert not backend.wait_for(lambda b: b.attempts > attempts, timeout=0.3)
    pipeline.quiesce(0.5)
    clock.skipped += RESUME_PROBE_S  # a freeze
    pipeline.begin_invocation()
    assert backend.wait_for(lambda b: sorted(b.span_name_counts().elements()) == sorted(names), timeout=10)


def test_a_send_that_never_ends_is_abandoned_when_the_sandbox_runs_again(
    backend: Backend, tmp_path: Path
) -> None:
    """A backend trickles its answer one byte at a time, so the socket's timeout never fires: once the send
    has lasted twice the send timeout, the next invocation abandons it, and the batch is sent again later
    instead of staying in flight for ever."""
    backend.set_mode("drip", delay=0.05)
    pipeline = make(backend, tmp_path, ZEROLAG_SEND_TIMEOUT_MS="200", ZEROLAG_FLUSH="continuous")
    names = submit(pipeline, "d", 2)
    assert backend.wait_for(lambda b: b.attempts >= 1)
    pipeline.begin_invocation()  # not yet stuck: nothing happens
    assert pipeline._inflight
    deadline = time.monotonic() + 10
    while pipeline._inflight and time.monotonic() < deadline:
        with pipeline._cond:
            pipeline._cond.wait(0.1)  # a bounded wait between two invocations
        pipeline.begin_invocation()
    assert pipeline.counters.get("retried") == len(names)
    assert pipeline.counters.get("sent") == 0  # a truncated answer read after the abort is no 2xx
    backend.set_mode("ok")
    assert pipeline.final_flush(time.monotonic() + 10)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)


def test_a_400_on_a_merged_batch_drops_only_the_refused_request(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nine requests merged into one batch, one of them refused by the backend: the batch is bisected, the
    other eight arrive once, the refused one is counted as dropped_refused and logged with the reason."""
    pipeline = make(backend, tmp_path)
    good = submit(pipeline, "g", 4)
    pipeline.submit("traces", traces_pb(["poison-x", "poison-y"]), 2)
    good += submit(pipeline, "h", 4)
    with caplog.at_level(logging.WARNING, logger="zerolag.extension.pipeline"):
        assert pipeline.flush(time.monotonic() + 10)
    assert sorted(backend.span_name_counts().elements()) == sorted(good)
    assert pipeline.counters.get("dropped_refused") == 2
    assert pipeline.counters.get("dropped") == 2
    assert pipeline.counters.get("split") >= 3
    assert "span name rejected by policy" in caplog.text
    assert "dropped_refused" in caplog.text


def test_a_413_splits_even_a_single_request(backend: Backend, tmp_path: Path) -> None:
    """One request of 40 spans is too large for the backend: it is cut at span boundaries until each part
    is accepted, and later batches are built smaller."""
    backend.max_body = 3000
    pipeline = make(backend, tmp_path)
    names = [f"big-{i}" + "x" * 200 for i in range(40)]
    pipeline.submit("traces", traces_pb(names), 40)
    assert pipeline.flush(time.monotonic() + 10)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)
    assert pipeline.counters.get("dropped") == 0
    assert pipeline.store.batch_bytes < 1024 * 1024


def test_split_batch_bisects_between_requests_and_stops_at_one_request_for_a_400() -> None:
    chunks = [Chunk("traces", traces_pb([f"c{i}"]), 1, 0.0) for i in range(5)]
    left, right = split_batch(Batch("traces", chunks), 400) or []
    assert (len(left.chunks), len(right.chunks)) == (2, 3)
    assert left.split
    assert right.split
    assert split_batch(Batch("traces", chunks[:1]), 400) is None
    spooled = Chunk("traces", b"".join(c.data for c in chunks), 5, 0.0, whole=False)
    parts = split_batch(Batch("traces", [spooled]), 400) or []
    assert [p.items for p in parts] in ([2, 3], [3, 2])
    assert b"".join(p.payload() for p in parts) == spooled.data


def test_a_sender_survives_an_exception_and_never_logs_a_secret(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A header value http.client refuses (a key with a newline) raises inside the send: the sender thread
    survives, counts it, logs it once without the value, and the batch is kept (never left in flight)."""
    pipeline = make(backend, tmp_path, ZEROLAG_RETRY_MAX_MS="50", ZEROLAG_BREAKER_OPEN_MS="20")
    for forwarder in pipeline._forwarders:
        forwarder._headers = {"x-api-key": "sup3r-s3cret\nx"}
    names = submit(pipeline, "e", 3)
    with caplog.at_level(logging.ERROR, logger="zerolag.extension.pipeline"):
        for _ in range(5):
            assert not pipeline.flush(time.monotonic() + 0.2)
    assert pipeline.counters.get("sender_errors") >= 2
    assert "sup3r-s3cret" not in caplog.text
    assert caplog.text.count("sender error") == 1
    assert not pipeline._inflight
    for forwarder in pipeline._forwarders:
        forwarder._headers = {"x-api-key": "fixed"}
    assert pipeline.final_flush(time.monotonic() + 10)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)


@pytest.mark.parametrize("value", ["\u00b2", "1e400", "Fri, 31 Dec 99999 23:59:59 GMT", "", "-1"])
def test_retry_after_that_is_not_a_delay_is_ignored(value: str) -> None:
    assert parse_retry_after(value, time.time()) is None


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after("7", 0.0) == 7.0
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", 4.0) == 6.0
