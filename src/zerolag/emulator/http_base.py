"""The thin HTTP edge shared by the emulator's servers: a loopback ``ThreadingHTTPServer`` on HTTP/1.1 with
TCP_NODELAY, JSON replies, and body readers (Content-Length with a size cap, and chunked with trailers).

Handlers raise :class:`ApiError`; the base class turns it into the contract's
``{"errorMessage","errorType"}``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zerolag import lambda_wire as wire

MAX_STREAM_BYTES = 200 * 1024 * 1024  # response streaming limit (contract section 1)
DRAIN_CAP = 256 * 1024 * 1024  # an oversized body up to this size is read and dropped before the error reply


class ApiError(Exception):
    """An error reply of a Lambda API: HTTP status plus the contract's errorType and message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(f"{status} {error_type}: {message}")
        self.status = status
        self.error_type = error_type
        self.message = message


class TooLarge(Exception):
    """The request body exceeded the limit (already drained or the connection is to be closed)."""


@dataclass
class Body:
    """A request body as read from the wire, with the instants its first and last byte arrived."""

    data: bytes
    first_byte_at: float
    last_byte_at: float
    trailers: dict[str, str] = field(default_factory=dict)


class QuietServer(ThreadingHTTPServer):
    """A threading HTTP server on loopback; every connection gets TCP_NODELAY."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A peer that vanished mid-request (a killed process) is normal in a sandbox: stay quiet."""


class JsonHandler(BaseHTTPRequestHandler):
    """Base request handler: HTTP/1.1 keep-alive, JSON replies, no access log."""

    protocol_version = "HTTP/1.1"
    server_version = "zerolag-emulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: the emulator prints CloudWatch-style lines instead."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Protocol-level errors (bad request line, unsupported method) as the contract's JSON error."""
        self.close_connection = True
        self.reply_json(code, wire.error_body(wire.ERR_INVALID_REQUEST_FORMAT, message or "Bad request"))

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def reply_json(self, status: int, obj: object, headers: dict[str, str] | None = None) -> None:
        self.reply(status, json.dumps(obj).encode(), headers)

    def reply_error(self, err: ApiError) -> None:
        self.reply_json(err.status, wire.error_body(err.error_type, err.message))

    def dispatch(self, routes: Callable[[], None]) -> None:
        """Run ``routes`` turning ApiError into its reply and a dropped connection into silence."""
        try:
            routes()
        except ApiError as err:
            self.reply_error(err)
        except TooLarge:
            self.reply_error(ApiError(413, wire.ERR_REQUEST_TOO_LARGE, "Request body too large"))
        except (ConnectionError, TimeoutError):
            self.close_connection = True

    def read_body(self, limit: int) -> Body:
        """Read the body (Content-Length or chunked). Over ``limit``: raise TooLarge (connection closes)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = self._content_length()
        first = _now()
        if length > limit:
            self._discard(length)
            raise TooLarge
        data = self.rfile.read(length) if length else b""
        if len(data) < length:
            self.close_connection = True
            raise ApiError(400, wire.ERR_TRUNCATED_REQUEST, "Truncated HTTP request body")
        return Body(data, first, _now())

    def _discard(self, length: int) -> None:
        """Read and drop an oversized body so the client can read the error reply (bounded)."""
        if length > DRAIN_CAP:
            self.close_connection = True
            return
        left = length
        while left > 0:
            got = self.rfile.read(min(left, 1 << 20))
            if not got:
                self.close_connection = True
                return
            left -= len(got)

    def _content_length(self) -> int:
        raw = self.headers.get("Content-Length", "0") or "0"
        try:
            length = int(raw)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise ApiError(400, wire.ERR_INVALID_REQUEST_FORMAT, "Invalid Content-Length")
        return length

    def _read_chunked(self, limit: int) -> Body:
        parts: list[bytes] = []
        total = 0
        first: float | None = None
        while True:
            size = self._chunk_size()
            if first is None:
                first = _now()
            if size == 0:
                break
            chunk = self.rfile.read(size)
            self.rfile.readline()
            if len(chunk) < size:
                self.close_connection = True
                raise ApiError(400, wire.ERR_TRUNCATED_REQUEST, "Truncated chunked body")
            total += size
            if total <= limit:
                parts.append(chunk)
            elif total > DRAIN_CAP:
                self.close_connection = True
                raise TooLarge
        trailers = self._read_trailers()
        if total > limit:
            raise TooLarge
        return Body(b"".join(parts), first or _now(), _now(), trailers)

    def _chunk_size(self) -> int:
        line = self.rfile.readline(1024)
        if not line:
            self.close_connection = True
            raise ApiError(400, wire.ERR_TRUNCATED_REQUEST, "Truncated chunked body")
        try:
            return int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            self.close_connection = True
            raise ApiError(400, wire.ERR_INVALID_REQUEST_FORMAT, "Invalid chunk size") from exc

    def _read_trailers(self) -> dict[str, str]:
        trailers: dict[str, str] = {}
        while True:
            line = self.rfile.readline(65536)
            if line in (b"\r\n", b"\n", b""):
                return trailers
            name, _, value = line.decode("latin-1").partition(":")
            trailers[name.strip().lower()] = value.strip()

    def drain(self, limit: int = 64 * 1024 * 1024) -> None:
        """Read and drop a body nobody needs (so keep-alive stays in sync)."""
        try:
            self.read_body(limit)
        except (TooLarge, ApiError):
            self.close_connection = True


def _now() -> float:
    return time.monotonic()


def serve_in_thread(server: QuietServer) -> None:
    """Run ``server`` in a daemon thread (``server.server_address`` has the real port)."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="http-server", daemon=True)
    thread.start()
