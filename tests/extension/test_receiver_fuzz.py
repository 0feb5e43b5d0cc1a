"""Bad input against the receiver (Hypothesis): malformed protobuf, JSON and gzip, truncated bodies, slow
clients. Always a 4xx (or 200 for input that happens to be valid), never a 5xx, never a dead server."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
from collections.abc import Iterator

import pytest
from ext_helpers import traces_pb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_receiver import MAX_BODY, Sink

from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.server import HttpServer, bind_loopback

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def server() -> Iterator[HttpServer]:
    srv = HttpServer(bind_loopback(0), OtlpReceiver(Sink()), max_body=MAX_BODY, idle_timeout_s=2.0)
    srv.start()
    yield srv
    srv.close()


def status_of(port: int, path: str, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def alive(port: int) -> bool:
    return status_of(port, "/v1/traces", traces_pb(["ok"]), {"Content-Type": "application/x-protobuf"}) == 200


@FUZZ
@given(body=st.binary(max_size=2000), signal=st.sampled_from(["traces", "metrics", "logs"]))
def test_random_protobuf_bytes_get_200_or_400(server: HttpServer, body: bytes, signal: str) -> None:
    """Arbitrary bytes as protobuf: valid by chance → 200, otherwise 400."""
    assert status_of(server.port, f"/v1/{signal}", body, {"Content-Type": "application/x-protobuf"}) in (
        200,
        400,
    )


@FUZZ
@given(cut=st.integers(0, 200), flip=st.integers(0, 255), at=st.integers(0, 10_000))
def test_mutated_valid_protobuf_gets_200_or_400(server: HttpServer, cut: int, flip: int, at: int) -> None:
    """A valid request truncated and with one byte changed: 200 or 400, never anything else."""
    body = bytearray(traces_pb(["a", "b", "c"]))
    body = body[: max(0, len(body) - cut)]
    if body:
        body[at % len(body)] = flip
    assert status_of(server.port, "/v1/traces", bytes(body), {"Content-Type": "application/x-protobuf"}) in (
        200,
        400,
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["resourceSpans", "scopeSpans", "spans", "name", "traceId", "spanId", "attributes", "x"]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@FUZZ
@given(value=json_values)
def test_random_json_gets_200_or_400(server: HttpServer, value: object) -> None:
    """Arbitrary JSON documents shaped like OTLP: 200 or 400."""
    body = json.dumps(value).encode()
    assert status_of(server.port, "/v1/traces", body, {"Content-Type": "application/json"}) in (200, 400)


@FUZZ
@given(body=st.binary(max_size=500), cut=st.integers(1, 50))
def test_malformed_and_truncated_gzip_gets_400(server: HttpServer, body: bytes, cut: int) -> None:
    """Random bytes or a truncated gzip stream as a gzip body: 400 (or 200 when the content is valid)."""
    truncated = gzip.compress(traces_pb(["t"]))[:-cut]
    for data in (body, truncated):
        status = status_of(
            server.port,
            "/v1/traces",
            data,
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
        )
        assert status in (200, 400)


def test_gzip_bomb_is_refused_without_inflating_it(server: HttpServer) -> None:
    """A small gzip body that inflates past the limit gets 413 (the decoder stops at the limit)."""
    bomb = gzip.compress(b"\x00" * (50 * MAX_BODY))
    status = status_of(
        server.port,
        "/v1/traces",
        bomb,
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert status == 413
    assert alive(server.port)


def test_huge_declared_length_gets_413_before_any_body_is_read(server: HttpServer) -> None:
    """Content-Length of 10 GB: 413 at once, the connection is closed, nothing is allocated."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 10000000000\r\n\r\n"
        )
        assert sock.recv(1000).startswith(b"HTTP/1.1 413")
    assert alive(server.port)


def test_truncated_body_and_vanishing_client_leave_the_server_serving(server: HttpServer) -> None:
    """A client that sends half its body and closes gets 400 (truncated body) and harms nothing."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: 100\r\n\r\nabc"
        )
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(1000).startswith(b"HTTP/1.1 400")
    assert alive(server.port)


@pytest.mark.parametrize(
    "junk",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /v1/traces\r\n\r\n",
        b"POST / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\n" + b"X: y\r\n" * 200 + b"\r\n",
        b"POST /v1/traces HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/traces HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_malformed_http_gets_400(server: HttpServer, junk: bytes) -> None:
    """Broken request lines, headers, lengths and chunking: 400 and the connection closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(junk)
        assert sock.recv(1000).startswith(b"HTTP/1.1 400")
    assert alive(server.port)


def test_slow_clients_do_not_block_other_clients(server: HttpServer) -> None:
    """Clients that open connections and dribble bytes do not stop a normal client from being served."""
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=30) for _ in range(10)]
    try:
        for sock in slow:
            sock.sendall(b"POST /v1/traces HTTP/1.1\r\nContent-Len")
        assert alive(server.port)
    finally:
        for sock in slow:
            sock.close()


def test_connection_flood_beyond_the_bound_gets_503_not_a_crash() -> None:
    """More connections than the bound: the extra ones get 503 at once; threads and memory stay bounded."""
    srv = HttpServer(bind_loopback(0), OtlpReceiver(Sink()), max_body=MAX_BODY, max_connections=4)
    srv.start()
    held = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(4)]
    try:
        for sock in held:  # make sure each holds a slot (a served request proves the thread runs)
            body = traces_pb(["h"])
            sock.sendall(
                b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            assert sock.recv(1000).startswith(b"HTTP/1.1 200")
        with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as extra:
            assert extra.recv(1000).startswith(b"HTTP/1.1 503")
    finally:
        for sock in held:
            sock.close()
        srv.close()


def test_bytes_held_in_request_bodies_stay_within_the_budget() -> None:
    """Many clients uploading large bodies at once: the memory reserved for bodies never exceeds the budget;
    a request that cannot get memory in time gets 503, and the server keeps serving."""
    srv = HttpServer(
        bind_loopback(0),
        OtlpReceiver(Sink()),
        max_body=MAX_BODY,
        budget_bytes=2 * MAX_BODY,
        budget_wait_s=0.5,
    )
    srv.start()
    head = (
        b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n"
        b"Content-Length: %d\r\n\r\n" % (MAX_BODY - 10)
    )
    uploads = [socket.create_connection(("127.0.0.1", srv.port), timeout=30) for _ in range(5)]
    try:
        for sock in uploads:
            sock.sendall(head + b"\x00" * 100)  # the rest never comes: each holds its reservation
        refused = held = 0
        for sock in uploads:
            sock.settimeout(5)
            try:
                refused += sock.recv(1000).startswith(b"HTTP/1.1 503")
            except TimeoutError:
                held += 1  # this one holds its reservation, waiting for the rest of its body
        assert (refused, held) == (3, 2)
        assert srv.budget.peak <= srv.budget.total
    finally:
        for sock in uploads:
            sock.close()
    assert alive(srv.port)
    srv.close()
