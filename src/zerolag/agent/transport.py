"""The exporters' two HTTP clients: a minimal kept-alive loopback client, and ``http.client`` for backends.

``LoopbackClient`` writes prebuilt HTTP/1.1 requests, pipelined in one ``sendall``, on a kept-alive TCP
connection to the extension (the cheapest hand-off measured in baselines.md) and reads the status lines, at
once or (``wait=False``) before its next write. ``DirectClient`` speaks to any OTLP/HTTP endpoint, http or
https. Both are bounded by a timeout and raise ``OSError``.
"""

from __future__ import annotations

import socket

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


# How long answers still owed by the extension may take when the next hand-off wants the connection: they
# were due since the previous invocation, so only a hung extension takes longer (the connection is dropped).
SETTLE_S = 0.02


class LoopbackClient:
    __slots__ = ("_buf", "_sock", "host", "port", "timeout", "unanswered")

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self.unanswered = 0  # requests sent with wait=False whose answers are not read yet

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._buf = b""
        self.unanswered = 0

    def _request(self, path: str, body: bytes, headers: Sequence[tuple[str, str]]) -> bytes:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            "Content-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        ).encode("latin-1")
        return head + body

    def post(self, path: str, body: bytes, headers: Sequence[tuple[str, str]]) -> int:
        """POST ``body``, return the status. One retry on a fresh connection if a kept one was closed."""
        return self.post_many([(path, body, headers)])[0]

    def settle(self) -> list[int]:
        """Read the answers still owed for requests sent with ``wait=False`` (at most ``SETTLE_S``); on a
        timeout or a broken connection the connection is dropped and ``OSError`` raised."""
        statuses: list[int] = []
        if not self.unanswered or self._sock is None:
            return statuses
        try:
            self._sock.settimeout(min(SETTLE_S, self.timeout))
            while self.unanswered:
                statuses.append(self._read_response())
                self.unanswered -= 1
            if self._sock is not None:
                self._sock.settimeout(self.timeout)
        except OSError:
            self.close()
            raise
        return statuses

    def post_many(
        self, requests: Sequence[tuple[str, bytes, Sequence[tuple[str, str]]]], wait: bool = True
    ) -> list[int]:
        """POST every request on one connection, pipelined: all of them in one ``sendall`` (one wake-up of
        the receiver instead of one round trip each), then read the answers in order. The receiver handles
        them in order, so a marker on the last request (``X-Zerolag-Final``) arrives after the data before it.
        A kept connection found closed is retried once, fresh, from the first unanswered request.
        ``wait=False``: return once the requests are written; the answers are read by ``settle`` (called
        first by the next post) and the statuses returned are those of earlier requests settled now."""
        earlier = self.settle() if self.unanswered else []
        wire = [self._request(path, body, headers) for path, body, headers in requests]
        statuses: list[int] = []
        reused = self._sock is not None
        try:
            self._exchange(wire, statuses, wait)
        except OSError:
            self.close()
            if not reused:
                raise
            self._exchange(wire[len(statuses) :], statuses, wait)
        return earlier + statuses

    def _exchange(self, wire: Sequence[bytes], statuses: list[int], wait: bool) -> None:
        if self._sock is not None and not wait and self._closed_by_peer():
            # Without reading an answer a write to a connection the extension closed (idle timeout) would be
            # lost unnoticed: look first (one non-blocking peek) and reconnect.
            self.close()
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(b"".join(wire))
        if not wait:
            self.unanswered += len(wire)
            return
        for _ in wire:
            statuses.append(self._read_response())

    def _closed_by_peer(self) -> bool:
        assert self._sock is not None
        try:
            return self._buf == b"" and self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _recv(self) -> bytes:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("connection closed by the extension")
        return chunk

    def _read_response(self) -> int:
        while b"\r\n\r\n" not in self._buf:
            self._buf += self._recv()
        head, _, rest = self._buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, close, chunked = 0, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value == "close":
                close = True
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = close = True
        if chunked:
            while not rest.endswith(b"0\r\n\r\n"):
                rest += self._recv()
            length = len(rest)
        while len(rest) < length:
            rest += self._recv()
        self._buf = rest[length:]
        if close:
            self.close()
        return status


class DirectClient:
    """POSTs to an OTLP/HTTP endpoint (``base`` + ``/v1/traces`` ...) with ``http.client``, kept alive."""

    def __init__(self, base: str, headers: Sequence[tuple[str, str]], timeout: float) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(base)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.headers = dict(headers)
        self.timeout = timeout
        self._conn: object | None = None

    def _connection(self) -> object:
        import http.client

        if self._conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self._conn = cls(self.host, self.port, timeout=self.timeout)
        return self._conn

    def post(self, path: str, body: bytes, headers: Sequence[tuple[str, str]]) -> int:
        import http.client

        conn = self._connection()
        assert isinstance(conn, http.client.HTTPConnection)
        all_headers = {"Content-Type": "application/x-protobuf", **self.headers, **dict(headers)}
        try:
            conn.request("POST", self.prefix + path, body=body, headers=all_headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._conn = None
            raise OSError(str(exc)) from exc

    def close(self) -> None:
        import http.client

        if isinstance(self._conn, http.client.HTTPConnection):
            self._conn.close()
        self._conn = None
