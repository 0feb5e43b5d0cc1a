"""The demo's pieces on their own: the delay proxy forwards faithfully; the comparison's arithmetic."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from zerolag.cli.demo_compare import Measured, Mode, Sample, format_table, summarize
from zerolag.cli.demo_proxy import DelayProxy


def _echo_server() -> tuple[socket.socket, threading.Thread]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data.upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def test_delay_proxy_forwards_both_ways_in_order() -> None:
    """Bytes go through the proxy to the target and back unchanged, in order, across many writes."""
    server, _ = _echo_server()
    try:
        with DelayProxy(server.getsockname(), rtt_ms=1.0) as proxy:
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as client:
                payload = b"".join(f"chunk-{n};".encode() for n in range(200))
                for n in range(0, len(payload), 97):
                    client.sendall(payload[n : n + 97])
                client.shutdown(socket.SHUT_WR)
                received = b""
                while data := client.recv(65536):
                    received += data
        assert received == payload.upper()
    finally:
        server.close()


def test_delay_proxy_closes_the_client_when_the_target_is_down() -> None:
    """A proxy whose target refuses connections closes the client's connection instead of hanging."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        target = unused.getsockname()
    with DelayProxy(target, rtt_ms=1.0) as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as client:
            assert client.recv(10) == b""


def _measured(name: str, latencies: list[float], baseline: str | None, failures: int = 0) -> Measured:
    mode = Mode(name, f"label {name}", Path("."), {}, baseline)
    return Measured(mode, [Sample(v, int(v) + 1, 0.5) for v in latencies], failures)


def test_comparison_measures_each_mode_against_its_baseline() -> None:
    """added p50 is the mode's median latency minus its own baseline's; the baseline row has none."""
    rows = summarize(
        [
            _measured("bare", [1.0, 2.0, 3.0], None),
            _measured("direct", [10.0, 11.0, 12.0], "bare"),
            _measured("layer", [4.0, 5.0, 6.0], "bare"),
            _measured("extension", [5.0, 5.5, 6.0], "layer", failures=1),
        ]
    )
    assert [r.added_p50 for r in rows] == [None, 9.0, 3.0, 0.5]
    assert rows[1].billed_p50 == 12.0
    table = format_table(rows, 3)
    assert "+9.00 ms vs bare" in table
    assert "+0.50 ms vs layer" in table
    assert "(1 failed)" in table
