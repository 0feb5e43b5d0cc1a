"""The local OTLP/HTTP receiver over real loopback sockets: protobuf, JSON, gzip, spec status codes,
keep-alive, and the loopback protocol headers."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ext_helpers import logs_pb, metrics_pb, traces_pb

from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.server import HttpServer, bind_loopback

MAX_BODY = 64 * 1024


class Sink:
    """Records what the receiver hands on (after each response has been sent)."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, bytes, int, str | None]] = []
        self.done: list[str] = []
        self.counts: dict[str, int] = {}
        self._cond = threading.Condition()

    def submit(self, signal: Any, data: bytes, items: int, request_id: str | None = None) -> None:
        with self._cond:
            self.submitted.append((signal, data, items, request_id))
            self._cond.notify_all()

    def runtime_done(self, request_id: str) -> None:
        with self._cond:
            self.done.append(request_id)
            self._cond.notify_all()

    def wait(self, submitted: int, done: int = 0) -> None:
        with self._cond:
            assert self._cond.wait_for(
                lambda: len(self.submitted) >= submitted and len(self.done) >= done, 30
            )

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + n


@pytest.fixture
def served() -> Iterator[tuple[HttpServer, Sink]]:
    sink = Sink()
    server = HttpServer(bind_loopback(0), OtlpReceiver(sink), max_body=MAX_BODY, idle_timeout_s=5.0)
    server.start()
    yield server, sink
    server.close()


def post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, data, {k.lower(): v for k, v in response.getheaders()}


PB = {"Content-Type": "application/x-protobuf"}


def test_protobuf_of_each_signal_is_accepted_counted_and_answered_per_spec(
    served: tuple[HttpServer, Sink],
) -> None:
    """Each signal's protobuf gets 200 with an empty protobuf response; items are counted per signal."""
    server, sink = served
    for i, (path, body, items) in enumerate(
        (
            ("/v1/traces", traces_pb(["a", "b"]), 2),
            ("/v1/metrics", metrics_pb("m", [1, 2, 3]), 3),
            ("/v1/logs", logs_pb(["x"]), 1),
        )
    ):
        status, data, headers = post(server.port, path, body, PB)
        assert (status, data, headers["content-type"]) == (200, b"", "application/x-protobuf")
        sink.wait(i + 1)
        assert sink.submitted[-1][1:3] == (body, items)


def test_json_is_reencoded_as_protobuf(served: tuple[HttpServer, Sink]) -> None:
    """An OTLP/JSON request is answered {} and handed on as the equivalent protobuf."""
    from zerolag.otlp import protobuf

    server, sink = served
    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "0af7651916cd43dd8448eb211c80319c",
                                "spanId": "b7ad6b7169203331",
                                "name": "j",
                                "startTimeUnixNano": "1700000000000000000",
                                "endTimeUnixNano": "1700000000000000001",
                            }
                        ]
                    }
                ]
            }
        ]
    }
    status, data, _ = post(
        server.port, "/v1/traces", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert (status, data) == (200, b"{}")
    sink.wait(1)
    signal, pb, items, _ = sink.submitted[-1]
    assert (signal, items) == ("traces", 1)
    assert protobuf.decode("traces", pb)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "j"


def test_gzip_bodies_are_decoded(served: tuple[HttpServer, Sink]) -> None:
    """Content-Encoding: gzip bodies are accepted."""
    server, sink = served
    body = traces_pb(["g"])
    status, _, _ = post(server.port, "/v1/traces", gzip.compress(body), {**PB, "Content-Encoding": "gzip"})
    assert status == 200
    sink.wait(1)
    assert sink.submitted[-1][1] == body


@pytest.mark.parametrize(
    ("path", "body", "headers", "expected"),
    [
        ("/v1/traces", b"\xff\xff\xff", PB, 400),
        ("/v1/traces", b"{not json", {"Content-Type": "application/json"}, 400),
        ("/v1/traces", b"\x1f\x8b\x08\x00garbage", {**PB, "Content-Encoding": "gzip"}, 400),
        ("/v1/traces", gzip.compress(b"\x00" * (MAX_BODY + 10)), {**PB, "Content-Encoding": "gzip"}, 413),
        ("/v1/traces", b"x" * (MAX_BODY + 1), PB, 413),
        ("/v1/traces", b"abc", {"Content-Type": "text/plain"}, 415),
        ("/v1/traces", b"abc", {**PB, "Content-Encoding": "br"}, 415),
        ("/v2/traces", b"", PB, 404),
    ],
)
def test_bad_requests_get_the_spec_status(
    served: tuple[HttpServer, Sink], path: str, body: bytes, headers: dict[str, str], expected: int
) -> None:
    """Malformed → 400, oversized (raw or after gunzip) → 413, unsupported type/encoding → 415, else 404."""
    server, sink = served
    status, _, _ = post(server.port, path, body, headers)
    assert status == expected
    assert sink.submitted == []


def test_keep_alive_connection_serves_many_requests_with_one_send_each(
    served: tuple[HttpServer, Sink],
) -> None:
    """One kept-alive connection carries many requests; each response arrives whole in one segment."""
    server, sink = served
    body = traces_pb(["k"])
    request = (
        f"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        for _ in range(20):
            sock.sendall(request)
            reply = sock.recv(65536)
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
            assert reply.endswith(b"\r\n\r\n")
            assert b"Connection: keep-alive" in reply
    sink.wait(20)
    assert len(sink.submitted) == 20


def test_loopback_headers_tag_the_request_and_mark_the_runtime_done(served: tuple[HttpServer, Sink]) -> None:
    """X-Zerolag-Request-Id tags the data; X-Zerolag-Final: true reports the invocation's end."""
    server, sink = served
    headers = {**PB, "X-Zerolag-Request-Id": "req-1"}
    post(server.port, "/v1/traces", traces_pb(["a"]), headers)
    sink.wait(1)
    assert sink.done == []
    post(server.port, "/v1/traces", traces_pb(["b"]), {**headers, "X-Zerolag-Final": "true"})
    sink.wait(2, done=1)
    assert sink.submitted[-1][3] == "req-1"
    assert sink.done == ["req-1"]


def test_chunked_and_expect_continue_requests_are_understood(served: tuple[HttpServer, Sink]) -> None:
    """Transfer-Encoding: chunked bodies and Expect: 100-continue work like plain ones."""
    server, sink = served
    body = traces_pb(["c1", "c2"])
    head = (
        b"POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        b"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sink.wait(1)
    assert sink.submitted[-1][2] == 2
