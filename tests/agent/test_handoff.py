"""The loopback hand-off against the real extension receiver (``HttpServer`` + ``OtlpReceiver``): pipelined
POSTs in one write, writes that do not wait for the answer, a connection the extension closed, a hung
extension."""

from __future__ import annotations

import select
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from agent_sink import HangingServer

from zerolag.agent import transport
from zerolag.agent.transport import LoopbackClient
from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.server import HttpServer, bind_loopback


class Recorder:
    """The receiver's sink: what arrived, in order, and the final markers."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes, str | None]] = []
        self.finals: list[str] = []
        self.cond = threading.Condition()

    def submit(self, signal: str, data: bytes, items: int, request_id: str | None = None) -> None:
        with self.cond:
            self.items.append((signal, data, request_id))
            self.cond.notify_all()

    def runtime_done(self, request_id: str) -> None:
        with self.cond:
            self.finals.append(request_id)
            self.cond.notify_all()

    def count(self, name: str, n: int = 1) -> None:
        pass

    def wait_final(self, request_id: str) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: request_id in self.finals, timeout=30)


class Extension:
    def __init__(self, idle_timeout_s: float = 60.0) -> None:
        self.sink = Recorder()
        noted: Any = lambda *args: None  # noqa: E731 - no telemetry plugin in this test
        self.server = HttpServer(
            bind_loopback(0), OtlpReceiver(self.sink, noted), max_body=1 << 20, idle_timeout_s=idle_timeout_s
        )
        self.server.start()
        self.port = self.server.port

    def connections(self) -> int:
        with self.server._lock:
            return len(self.server._connections)


@pytest.fixture
def extension() -> Iterator[Extension]:
    ext = Extension()
    yield ext
    ext.server.close()


# Three valid, empty OTLP requests: the receiver accepts empty protobuf bodies of each signal.
def _requests(rid: str) -> list[tuple[str, bytes, list[tuple[str, str]]]]:
    tag = [("X-Zerolag-Request-Id", rid)]
    return [
        ("/v1/traces", b"", tag),
        ("/v1/metrics", b"", tag),
        ("/v1/logs", b"", [*tag, ("X-Zerolag-Final", "true")]),
    ]


def test_pipelined_posts_arrive_in_order_with_the_marker_last(extension: Extension) -> None:
    client = LoopbackClient("127.0.0.1", extension.port, 5)
    assert client.post_many(_requests("r1")) == [200, 200, 200]
    assert extension.sink.wait_final("r1")
    assert client.post_many(_requests("r2")) == [200, 200, 200]
    assert extension.sink.wait_final("r2")
    assert extension.sink.finals == ["r1", "r2"]
    assert extension.connections() == 1
    client.close()


def test_a_write_without_waiting_is_settled_by_the_next_post(extension: Extension) -> None:
    client = LoopbackClient("127.0.0.1", extension.port, 5)
    assert client.post_many(_requests("r1"), wait=False) == []
    assert client.unanswered == 3
    assert extension.sink.wait_final("r1")
    # The next post first reads the three answers still owed, then its own.
    assert client.post_many(_requests("r2")) == [200] * 6
    assert client.unanswered == 0
    assert extension.sink.wait_final("r2")  # noted after the answer is written
    assert extension.sink.finals == ["r1", "r2"]
    client.close()


def test_a_write_without_waiting_survives_a_connection_the_extension_closed() -> None:
    """The extension closes idle connections; a write that does not read the answer must notice before
    writing, or its data would be lost unnoticed."""
    ext = Extension(idle_timeout_s=0.2)
    try:
        client = LoopbackClient("127.0.0.1", ext.port, 5)
        assert client.post_many(_requests("r1")) == [200, 200, 200]
        assert client._sock is not None
        # The extension's idle timeout closes the connection: its end of file makes our socket readable.
        readable, _, _ = select.select([client._sock], [], [], 30)
        assert readable
        client.post_many(_requests("r2"), wait=False)
        assert ext.sink.wait_final("r2")
        client.close()
    finally:
        ext.server.close()


def test_a_hung_extension_never_blocks_a_write_and_is_replaced_once_answers_are_overdue(
    hanging: HangingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writes that do not wait never wait on a hung extension (the bytes go to the socket buffer); once the
    answers are owed for longer than OWED_LIMIT_S the connection is replaced and the loss counted."""
    client = LoopbackClient("127.0.0.1", hanging.port, 30)
    client.post_many(_requests("r1"), wait=False)  # written into the socket buffer; nobody reads it
    client.post_many(_requests("r2"), wait=False)  # the answers are not due yet: no wait, no error
    assert client.unanswered == 6
    monkeypatch.setattr(transport, "OWED_LIMIT_S", 0.0)
    client.post_many(_requests("r3"), wait=False)  # the overdue connection is replaced; r3 still goes out
    assert client.lost_answers == 6
    assert client.unanswered == 3  # r3's, on a new connection
