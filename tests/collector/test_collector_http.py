"""The collector's HTTP edge against clients http.client will not imitate: raw sockets for chunked bodies,
request smuggling, keyless bodies, trickling clients, connection floods and malformed request lines."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import raw_http
from collector_client import INGEST_KEY, READ_KEY, Client, make_config
from collector_payloads import invocation_trace

from zerolag.collector import Collector
from zerolag.otlp import protobuf

TRACE = protobuf.encode("traces", invocation_trace("fn", "req-http"))


def head(path: str, *headers: str, method: str = "POST") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: collector", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def count(collector: Collector, table: str) -> int:
    with collector.store.reader() as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_a_chunked_body_is_accepted_and_stored(collector: Collector) -> None:
    """The OpenTelemetry JS exporter streams with Transfer-Encoding: chunked; it used to get a 411."""
    with raw_http.connect(collector.port) as sock:
        sock.sendall(
            head(
                "/v1/traces",
                "Content-Type: application/x-protobuf",
                f"Authorization: Bearer {INGEST_KEY}",
                "Transfer-Encoding: chunked",
            )
            + raw_http.chunked(TRACE, 100)
        )
        reply = raw_http.read_reply(sock)
    assert reply is not None
    assert reply.status == 200, reply
    assert count(collector, "spans") == 3


@pytest.mark.parametrize(
    "framing",
    [
        ("Content-Length: 5", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: chunked", "Content-Length: 5"),
    ],
)
def test_content_length_with_transfer_encoding_is_refused_and_smuggles_nothing(
    collector: Collector, framing: tuple[str, str]
) -> None:
    """Both framings at once: one 400 and the connection closed; the GET hidden after the empty chunked body
    (inside the Content-Length body for a server that believes that one) never gets an answer."""
    smuggled = b"0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: collector\r\n\r\n"
    with raw_http.connect(collector.port, timeout=10) as sock:
        sock.sendall(
            head("/v1/traces", "Content-Type: application/x-protobuf", f"X-Api-Key: {INGEST_KEY}", *framing)
            + smuggled
        )
        replies = raw_http.read_all_replies(sock)
    assert [r.status for r in replies] == [400]


def test_conflicting_content_length_headers_are_refused(collector: Collector) -> None:
    """Two lengths mean two readings of where the body ends: refused, nothing stored. (Identical duplicates
    are one length, which RFC 9110 section 8.6 lets a server accept; h11 does.)"""
    extra = 1
    with raw_http.connect(collector.port, timeout=10) as sock:
        sock.sendall(
            head(
                "/v1/traces",
                "Content-Type: application/x-protobuf",
                f"X-Api-Key: {INGEST_KEY}",
                f"Content-Length: {len(TRACE)}",
                f"Content-Length: {len(TRACE) + extra}",
            )
            + TRACE
        )
        replies = raw_http.read_all_replies(sock)
    assert [r.status for r in replies] == [400]
    assert count(collector, "spans") == 0


def test_the_key_is_checked_before_the_body_is_read(collector: Collector) -> None:
    """A keyless request announcing 16 MB is answered 401 at once, without the server waiting for (and
    holding) its body."""
    with raw_http.connect(collector.port, timeout=10) as sock:
        sock.sendall(head("/v1/traces", "Content-Type: application/x-protobuf", "Content-Length: 16000000"))
        reply = raw_http.read_reply(sock)
        assert reply is not None
        assert reply.status == 401
        assert reply.headers.get("connection") == "close"
    assert collector.buffer_budget.peak == 0


def test_a_trickling_body_is_cut_off_by_the_total_body_deadline(tmp_path: Path) -> None:
    """A client sending a byte every 0.2 s resets any per-read timeout forever; the body deadline is total."""
    with Collector(make_config(tmp_path, body_timeout_s=1.0)) as collector:
        sock = raw_http.connect(collector.port, timeout=15)
        sock.sendall(
            head(
                "/v1/traces",
                "Content-Type: application/x-protobuf",
                f"X-Api-Key: {INGEST_KEY}",
                f"Content-Length: {len(TRACE)}",
            )
        )
        stop = threading.Event()

        def trickle() -> None:
            for byte in TRACE[:-1]:
                if stop.wait(0.2):
                    return
                try:
                    sock.send(bytes([byte]))
                except OSError:
                    return

        sender = threading.Thread(target=trickle, daemon=True)
        sender.start()
        started = time.monotonic()
        try:
            reply = raw_http.read_reply(sock)
        finally:
            stop.set()
            sender.join(5)
            sock.close()
        assert reply is not None
        assert reply.status == 408
        assert time.monotonic() - started < 10
        assert collector.buffer_budget.used == 0


def test_a_request_head_that_never_completes_is_closed(tmp_path: Path) -> None:
    with Collector(make_config(tmp_path, header_timeout_s=0.5)) as collector:
        with raw_http.connect(collector.port, timeout=15) as sock:
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n")
            assert raw_http.closed_by_server(sock)


def test_many_idle_connections_cost_no_threads_and_the_cap_answers_503(tmp_path: Path) -> None:
    """2,000 slow clients once made 1,886 threads. Now connections are sockets on one event loop, capped."""
    cap = 50
    with Collector(make_config(tmp_path, max_connections=cap)) as collector:
        threads_before = threading.active_count()
        idle = [raw_http.connect(collector.port) for _ in range(cap)]
        try:
            connections = collector._server.server_state.connections
            raw_http.wait_for(lambda: len(connections) >= cap, what="the server to hold every connection")
            assert threading.active_count() - threads_before <= 2
            status, _, _ = Client(collector).request("GET", "/healthz")
            assert status == 503
        finally:
            for sock in idle:
                sock.close()
        raw_http.wait_for(lambda: len(connections) == 0, what="the idle connections to go")
        assert Client(collector).request("GET", "/healthz")[0] == 200


def test_bodies_in_flight_share_one_budget_and_past_it_get_a_retryable_503(tmp_path: Path) -> None:
    """Bytes held by unfinished bodies are bounded across connections, not per connection."""
    big = 600_000
    with Collector(make_config(tmp_path, max_buffered_bytes=1_000_000)) as collector:
        with raw_http.connect(collector.port) as first, raw_http.connect(collector.port) as second:
            announce = head(
                "/v1/traces",
                "Content-Type: application/x-protobuf",
                f"X-Api-Key: {INGEST_KEY}",
                f"Content-Length: {big + 1}",
            )
            first.sendall(announce + b"\0" * big)  # all but one byte: the server holds it, waiting
            raw_http.wait_for(lambda: collector.buffer_budget.used >= big, what="the first body to arrive")
            second.sendall(announce + b"\0" * big)
            reply = raw_http.read_reply(second)
            assert reply is not None
            assert reply.status == 503
            assert reply.headers.get("retry-after") == "1"
        raw_http.wait_for(lambda: collector.buffer_budget.used == 0, what="the budget to be given back")


@pytest.mark.parametrize(
    "request_line",
    [b"-v\r\n\r\n", b"GET -v HTTP/1.1\r\n\r\n", b"GET / HTTP/1.1 -v\r\n\r\n", b"\x16\x03\x01\r\n\r\n"],
)
def test_a_malformed_request_line_is_400(collector: Collector, request_line: bytes) -> None:
    with raw_http.connect(collector.port, timeout=10) as sock:
        sock.sendall(request_line)
        replies = raw_http.read_all_replies(sock)
    assert [r.status for r in replies] == [400]


def test_every_response_has_security_headers_and_no_python_version(client: Client) -> None:
    responses = [
        client.request("GET", "/"),
        client.request("GET", "/", headers={"X-Api-Key": READ_KEY}),
        client.request("GET", "/api/functions", headers={"X-Api-Key": READ_KEY}),
        client.request("GET", "/healthz"),
        client.request("GET", "/static/viewer.css"),  # keyless
        client.request("GET", "/static/nope.js"),
        client.request("GET", "/logs?since=nonsense", headers={"X-Api-Key": READ_KEY}),
        client.request("GET", "/api/dependencies", headers={"X-Api-Key": READ_KEY}),
        client.request("GET", "/traces/" + "ab" * 16, headers={"X-Api-Key": READ_KEY}),
        client.export("traces", invocation_trace("fn", "r1")),
        client.export("traces", invocation_trace("fn", "r1"), key=None),
    ]
    for status, headers, _ in responses:
        assert status < 500
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["server"] == "zerolag-collector"
        assert "python" not in headers["server"].lower()


def test_a_method_other_than_get_and_post_is_405(client: Client) -> None:
    status, headers, _ = client.request("DELETE", "/v1/traces", headers={"X-Api-Key": INGEST_KEY})
    assert status == 405
    assert "POST" in headers["allow"]
