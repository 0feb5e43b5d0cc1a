"""The real extension process (``python -m zerolag.extension``) against a fake Extensions API: start-up,
bad input from many clients without a crash and with bounded memory, SHUTDOWN flush, init errors."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_fakeapi import FakeExtensionsApi
from ext_helpers import traces_pb
from ext_sandbox import free_port

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def api() -> Iterator[FakeExtensionsApi]:
    a = FakeExtensionsApi()
    yield a
    a.close()


def start(api: FakeExtensionsApi, tmp: Path, **env: str) -> subprocess.Popen[bytes]:
    full = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(SRC),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "ZEROLAG_THUNDRA_PORT": "0",
        "ZEROLAG_TELEMETRY": "false",
        "ZEROLAG_SPOOL_DIR": str(tmp / "spool"),
        **env,
    }
    return subprocess.Popen([sys.executable, "-m", "zerolag.extension"], env=full, stderr=subprocess.PIPE)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def post(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(raw)
        sock.shutdown(socket.SHUT_WR)  # no more bytes: a request without line ends is answered, not awaited
        try:
            return sock.recv(1000)
        except OSError:
            return b""


def request(body: bytes, extra: bytes = b"") -> bytes:
    return (
        b"POST /v1/traces HTTP/1.1\r\nContent-Type: application/x-protobuf\r\n"
        + extra
        + b"Content-Length: %d\r\n\r\n"
    ) % len(body) + body


def test_bad_input_never_crashes_the_process_and_memory_stays_bounded(
    api: FakeExtensionsApi, tmp_path: Path
) -> None:
    """Garbage, gzip bombs, huge declared lengths and truncated bodies from many clients: every reply is a 4xx
    or 503, the process stays up with bounded RSS, then forwards good data and exits cleanly at SHUTDOWN."""
    backend = Backend()
    port = free_port()
    proc = start(api, tmp_path, ZEROLAG_EXTENSION_PORT=str(port), ZEROLAG_OTLP_ENDPOINT=backend.endpoint)
    try:
        assert api.registered.wait(30)
        bomb = gzip.compress(b"\x00" * (64 << 20))
        bad = [
            request(os.urandom(5000)),
            request(bomb, b"Content-Encoding: gzip\r\n"),
            request(b"{", b"Content-Type: application/json\r\n"),
            b"POST /v1/traces HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n",
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + os.urandom(100),  # a TLS ClientHello
        ]
        for _ in range(20):
            for raw in bad:
                reply = post(port, raw)
                assert reply == b"" or (reply[9:10] in (b"4", b"5") and not reply.startswith(b"HTTP/1.1 500"))
        assert proc.poll() is None
        assert rss_mib(proc.pid) < 100
        assert post(port, request(traces_pb(["good"]))).startswith(b"HTTP/1.1 200")
        api.shutdown_event()
        assert proc.wait(30) == 0
        assert backend.span_name_counts()["good"] == 1
    finally:
        proc.kill()
        backend.close()


def test_a_taken_port_is_an_init_error_naming_the_variable(api: FakeExtensionsApi, tmp_path: Path) -> None:
    """If the receiver's port is taken the extension registers, then reports Extension.PortInUse and exits."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        proc = start(api, tmp_path, ZEROLAG_EXTENSION_PORT=str(taken.getsockname()[1]))
        assert proc.wait(30) == 1
    [(path, error_type, body)] = api.errors
    assert path.endswith("/extension/init/error")
    assert error_type == "Extension.PortInUse"
    assert body["errorMessage"].startswith("ZEROLAG_EXTENSION_PORT")


def test_forwarding_to_itself_is_an_init_error(api: FakeExtensionsApi, tmp_path: Path) -> None:
    """An endpoint that is the extension's own receiver fails Init with Extension.ConfigError."""
    port = free_port()
    proc = start(
        api, tmp_path, ZEROLAG_EXTENSION_PORT=str(port), ZEROLAG_OTLP_ENDPOINT=f"http://localhost:{port}"
    )
    assert proc.wait(30) == 1
    [(_, error_type, body)] = api.errors
    assert error_type == "Extension.ConfigError"
    assert "ZEROLAG_OTLP_ENDPOINT" in body["errorMessage"]
