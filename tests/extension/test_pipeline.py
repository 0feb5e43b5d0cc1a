"""The pipeline against a real OTLP backend on loopback: delivery, retries, outage with spool, hanging
backend, circuit breaker. In-process, real sockets, real threads."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_helpers import traces_pb

from zerolag.extension.app import build_pipeline
from zerolag.extension.config import load_config
from zerolag.extension.counters import Counters
from zerolag.extension.pipeline import Pipeline


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def make(backend: Backend, tmp_path: Path, **env: str) -> Pipeline:
    base = {
        "ZEROLAG_OTLP_ENDPOINT": backend.endpoint,
        "ZEROLAG_SPOOL_DIR": str(tmp_path / "spool"),
        "ZEROLAG_RETRY_MAX_MS": "200",
        "ZEROLAG_BREAKER_OPEN_MS": "100",
        "ZEROLAG_SEND_TIMEOUT_MS": "10000",
        "ZEROLAG_FLUSH": "end",
    }
    pipeline = build_pipeline(load_config({**base, **env}), Counters())
    pipeline.start()
    return pipeline


def drain(pipeline: Pipeline, timeout: float = 60.0) -> None:
    """Flush until everything is acknowledged (bounded)."""
    end = time.monotonic() + timeout
    while not pipeline.idle() and time.monotonic() < end:
        pipeline.flush(min(end, time.monotonic() + 1.0))
        if not pipeline.idle():
            pipeline.begin_invocation()
            time.sleep(0.05)  # not synchronisation: lets backoff/breaker time pass between bounded flushes
    assert pipeline.idle()


def submit_spans(pipeline: Pipeline, prefix: str, n: int, per_request: int = 5) -> list[str]:
    names = []
    for i in range(0, n, per_request):
        batch = [f"{prefix}-{j}" for j in range(i, min(n, i + per_request))]
        pipeline.submit("traces", traces_pb(batch), len(batch))
        names.extend(batch)
    return names


def test_everything_submitted_reaches_the_backend_once_batched_and_gzipped(
    backend: Backend, tmp_path: Path
) -> None:
    """100 spans in 20 requests arrive exactly once, in fewer requests, gzip-compressed protobuf."""
    pipeline = make(backend, tmp_path)
    names = submit_spans(pipeline, "s", 100)
    assert pipeline.flush(time.monotonic() + 30)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)
    assert len(backend.requests) < 20
    assert all(h["content-encoding"] == "gzip" for _, _, h in backend.requests)
    assert pipeline.counters.get("sent") == 100
    assert pipeline.counters.get("received") == 100


def test_backend_headers_are_sent(backend: Backend, tmp_path: Path) -> None:
    """ZEROLAG_OTLP_HEADERS go on every request to the backend."""
    pipeline = make(backend, tmp_path, ZEROLAG_OTLP_HEADERS="x-api-key=s3cr%3Dt,x-team=a")
    submit_spans(pipeline, "h", 1)
    assert pipeline.flush(time.monotonic() + 30)
    headers = backend.requests[0][2]
    assert headers["x-api-key"] == "s3cr=t"
    assert headers["x-team"] == "a"


@pytest.mark.parametrize("status", [500, 503, 429])
def test_retryable_statuses_are_retried_until_delivered(
    backend: Backend, tmp_path: Path, status: int
) -> None:
    """5xx and 429 (with Retry-After) are retried with backoff; nothing is lost, retries are counted."""
    backend.set_mode("status", status=status, retry_after="0")
    pipeline = make(backend, tmp_path)
    names = submit_spans(pipeline, "r", 10)
    assert not pipeline.flush(time.monotonic() + 0.5)
    assert backend.attempts >= 1
    backend.set_mode("ok")
    drain(pipeline)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)
    assert pipeline.counters.get("retried") >= 10


def test_outage_spills_to_the_spool_and_recovery_empties_it(backend: Backend, tmp_path: Path) -> None:
    """Backend down while far more than the memory bound arrives: memory stays bounded, the spool takes the
    rest, and once the backend is back every span arrives exactly once and the spool is empty."""
    pipeline = make(backend, tmp_path, ZEROLAG_BUFFER_BYTES="65536", ZEROLAG_BATCH_BYTES="16384")
    backend.stop()
    names: list[str] = []
    for round_ in range(40):
        names += submit_spans(pipeline, f"o{round_}", 50, per_request=25)
        pipeline.flush(time.monotonic() + 0.05)
        assert pipeline.store.memory.bytes <= 65536
    assert pipeline.counters.get("spooled") > 0
    assert len(os.listdir(tmp_path / "spool")) > 0
    backend.start()
    drain(pipeline, timeout=120)
    assert sorted(backend.span_name_counts().elements()) == sorted(names)
    assert os.listdir(tmp_path / "spool") == []
    assert pipeline.counters.get("dropped") == 0


def test_open_breaker_makes_flushes_return_without_touching_a_dead_backend(
    backend: Backend, tmp_path: Path
) -> None:
    """After repeated failures the breaker opens: further flushes do not attempt a send every time."""
    backend.set_mode("status", status=500)
    pipeline = make(backend, tmp_path, ZEROLAG_BREAKER_OPEN_MS="60000", ZEROLAG_RETRY_MAX_MS="10")
    submit_spans(pipeline, "b", 5)
    for _ in range(10):
        pipeline.flush(time.monotonic() + 0.3)
    before = backend.attempts
    for _ in range(20):
        assert not pipeline.flush(time.monotonic() + 0.2)
    assert backend.attempts == before
    assert pipeline.breaker.state(time.monotonic()) == "open"


def test_hanging_backend_send_is_abandoned_at_quiesce_and_resent_later(
    backend: Backend, tmp_path: Path
) -> None:
    """A send stuck on a hanging backend is abandoned before the freeze (quiesce), counted, and the data is
    resent once the backend answers: every span arrives, duplicates stay within the counted risk."""
    backend.set_mode("hang")
    pipeline = make(backend, tmp_path)
    names = submit_spans(pipeline, "hang", 10)
    assert not pipeline.flush(time.monotonic() + 0.2)
    assert backend.wait_for(lambda b: b.attempts >= 1)  # the send is in flight, held by the backend
    pipeline.quiesce(0.1)
    assert pipeline.counters.get("abandoned") == 10
    backend.set_mode("ok")
    pipeline.begin_invocation()
    drain(pipeline)
    counts = backend.span_name_counts()
    assert set(counts) == set(names)
    duplicates = sum(counts.values()) - len(names)
    assert duplicates <= pipeline.counters.get("duplicate_risk")


def test_no_endpoint_counts_everything_as_dropped(tmp_path: Path) -> None:
    """Without ZEROLAG_OTLP_ENDPOINT data is counted as received and dropped, never buffered."""
    pipeline = build_pipeline(load_config({"ZEROLAG_SPOOL_DIR": str(tmp_path)}), Counters())
    pipeline.submit("traces", traces_pb(["x"]), 1)
    assert pipeline.counters.get("dropped") == 1
    assert pipeline.idle()
