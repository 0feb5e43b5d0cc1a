"""The exporters' edges with real loopback servers: the kept-alive client, the breaker, the extension
exporter's headers and the worker thread."""

from __future__ import annotations

import socket

import pytest
from agent_sink import HangingServer, Sink
from hypothesis import given
from hypothesis import strategies as st

from zerolag.agent import export, metrics, spans
from zerolag.agent import worker as worker_mod
from zerolag.agent.redact import Redactor
from zerolag.agent.transport import DirectClient, LoopbackClient


def test_loopback_client_keeps_one_connection(sink: Sink) -> None:
    """Several POSTs reuse one connection and arrive with their bodies and headers."""
    client = LoopbackClient("127.0.0.1", sink.port, 10)
    for i in range(3):
        assert client.post("/v1/traces", b"", [("X-Zerolag-Request-Id", f"r{i}")]) == 200
    sock = client._sock
    assert sock is not None
    assert [r.headers["x-zerolag-request-id"] for r in sink.received] == ["r0", "r1", "r2"]
    client.close()


def test_loopback_client_errors_are_oserrors(hanging: HangingServer) -> None:
    """A closed port and a server that never answers both end in OSError, the latter after the timeout."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(OSError):
        LoopbackClient("127.0.0.1", port, 5).post("/v1/traces", b"", [])
    with pytest.raises(OSError):
        LoopbackClient("127.0.0.1", hanging.port, 0.3).post("/v1/traces", b"", [])


def test_direct_client_posts_with_configured_headers(sink: Sink) -> None:
    """The direct exporter's client sends protobuf to base + path with the user's headers."""
    client = DirectClient(sink.url + "/otlp", [("Authorization", "Bearer k")], 10)
    assert client.post("/v1/logs", b"", ()) == 200
    rec = sink.received[0]
    assert rec.path == "/otlp/v1/logs"
    assert rec.headers["authorization"] == "Bearer k"
    assert rec.headers["content-type"] == "application/x-protobuf"
    client.close()


def test_breaker_opens_with_growing_pauses_and_closes_on_success() -> None:
    """Each failure doubles the pause up to the cap; a success closes it."""
    b = export.Breaker(pause=1.0, max_pause=4.0)
    assert b.allow(0.0)
    b.failed(10.0)
    assert not b.allow(10.5)
    assert b.allow(11.0)
    b.failed(11.0)
    assert not b.allow(12.9)
    b.failed(13.0)
    assert b.open_until == 17.0
    b.succeeded()
    assert b.allow(13.0)


def test_extension_exporter_marks_the_last_post_final(sink: Sink) -> None:
    """A job with spans, metrics and logs is three POSTs; only the last carries X-Zerolag-Final."""
    exp = export.ExtensionExporter({"service.name": "t"}, Redactor([]), "0", sink.port, 10)
    s = spans.Span("x", 1, 0, True)
    s.end()
    metrics.counter("c", 1)
    exp.export(("rid-1", [s], [(1, 9, "INFO", "hi", 0, 0, None)]))
    assert [r.path for r in sink.received] == ["/v1/traces", "/v1/metrics", "/v1/logs"]
    assert [r.headers.get("x-zerolag-final") for r in sink.received] == [None, None, "true"]
    assert {r.headers["x-zerolag-request-id"] for r in sink.received} == {"rid-1"}
    assert exp.stats.exported == 1


def test_empty_invocation_still_sends_the_final_marker(sink: Sink) -> None:
    """Nothing recorded (e.g. not sampled): one empty traces POST tells the extension the invocation ended."""
    exp = export.ExtensionExporter({}, Redactor([]), "0", sink.port, 10)
    exp.take_metrics()
    exp.export(("rid-2", [], []))
    assert [(r.path, r.body, r.headers.get("x-zerolag-final")) for r in sink.received] == [
        ("/v1/traces", b"", "true")
    ]


def test_worker_sends_off_the_callers_thread_and_flushes(sink: Sink) -> None:
    """submit() returns at once; flush() waits until the worker has exported everything handed over."""
    exp = export.ExtensionExporter({}, Redactor([]), "0", sink.port, 10)
    worker = worker_mod.Worker(exp, lambda rid: None)
    for i in range(5):
        worker.submit((f"r{i}", [], []))
    assert worker.flush(60)
    assert sink.finals() == [f"r{i}" for i in range(5)]


def test_failed_exports_are_counted_not_raised() -> None:
    """Exporting to a closed port raises nothing; it counts a failure and opens the breaker."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exp = export.ExtensionExporter({}, Redactor([]), "0", port, 5)
    exp.export(("r", [], []))
    exp.export(("r", [], []))
    assert (exp.stats.failed, exp.stats.skipped) == (1, 1)


@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 1000)), max_size=50))
def test_counters_sum_exactly_per_dimension_set(adds: list[tuple[str, int]]) -> None:
    """Hypothesis: a counter's points are the exact per-dimension sums, and take() starts a new interval."""
    agg = metrics.Aggregator()
    for dim, v in adds:
        agg.record("counter", "n", "", v, {"d": dim})
    expected: dict[str, int] = {}
    for dim, v in adds:
        expected[dim] = expected.get(dim, 0) + v
    got = {p[0]["d"]: p[1] for item in agg.take() for p in item[3]}
    assert got == expected
    assert agg.take() == []


def test_pending_exports_are_bounded_when_the_extension_hangs(hanging: HangingServer) -> None:
    """With the extension hanging, hand-overs beyond MAX_PENDING are dropped and counted, never queued."""
    exp = export.ExtensionExporter({}, Redactor([]), "0", hanging.port, 30)
    worker = worker_mod.Worker(exp, lambda rid: None)
    for i in range(worker_mod.MAX_PENDING + 20):
        worker.submit((f"r{i}", [], []))
    assert exp.stats.dropped >= 20
    assert worker.submitted - worker.done <= worker_mod.MAX_PENDING
