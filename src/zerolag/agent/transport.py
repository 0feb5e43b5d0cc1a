"""The exporters' two HTTP clients: a minimal kept-alive loopback client, and ``http.client`` for backends.

``LoopbackClient`` writes prebuilt HTTP/1.1 requests, pipelined in one ``sendall``, on a kept-alive TCP
connection to the extension (the cheapest hand-off measured in baselines.md) and reads the status lines, at
once or (``wait=False``) before its next write. ``DirectClient`` speaks to any OTLP/HTTP endpoint, http or
https. Both are bounded by a timeout and raise ``OSError``.
"""

from __future__ import annotations

import socket
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


# Answers owed for writes that did not wait (``wait=False``) are read when they have arrived, never waited for
# on the caller's thread; a connection that still owes answers this long after the oldest write is taken for
# a hung extension (dropped, ``OSError``).
OWED_LIMIT_S = 2.0


class LoopbackClient:
    __slots__ = ("_buf", "_owed_since", "_sock", "host", "lost_answers", "port", "timeout", "unanswered")

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._sock: socket.socket | None = None
        self._buf = b""
        self.unanswered = 0  # requests sent with wait=False whose answers are not read yet
        self._owed_since = 0.0
        self.lost_answers = 0  # requests whose answers could not be read (connection replaced)

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

    def settle(self, block: bool = False) -> list[int]:
        """The statuses of owed answers (for writes made with ``wait=False``) that have arrived; all of them,
        within the timeout, when ``block``. Raises ``OSError`` (connection dropped) on a broken connection or
        when answers are owed for longer than ``OWED_LIMIT_S``."""
        statuses: list[int] = []
        sock = self._sock
        if sock is None or not self.unanswered:
            return statuses
        try:
            if not block:
                sock.settimeout(0.0)  # a read with a timeout would poll for up to the timeout first
            while self.unanswered and self._sock is not None:
                status = self._read_response(block)
                if status is None:
                    if time.monotonic() - self._owed_since > OWED_LIMIT_S:
                        raise TimeoutError("the extension owes answers for too long")
                    break
                statuses.append(status)
                self.unanswered -= 1
            if self._sock is not None and not block:
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
        first by the next post), and the statuses returned are those of earlier requests settled now. If the
        owed answers cannot be read (a hung or restarted extension), the connection is replaced and the
        requests still go; ``lost_answers`` counts the earlier requests whose fate is unknown."""
        earlier: list[int] = []
        if self.unanswered:
            owed = self.unanswered
            try:
                earlier = self.settle(block=wait)
            except OSError:
                self.lost_answers += owed
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
        if self._sock is not None and not wait and not self.unanswered and self._closed_by_peer():
            # Without reading an answer a write to a connection the extension closed (idle timeout) would be
            # lost unnoticed: look first (one non-blocking peek) and reconnect.
            self.close()
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock.sendall(b"".join(wire))
        if not wait:
            if not self.unanswered:
                self._owed_since = time.monotonic()
            self.unanswered += len(wire)
            return
        for _ in wire:
            status = self._read_response(True)
            assert status is not None
            statuses.append(status)

    def _closed_by_peer(self) -> bool:
        sock = self._sock
        assert sock is not None
        if self._buf:
            return False
        try:
            sock.settimeout(0.0)  # a read with a timeout would poll for up to the timeout first
            try:
                return sock.recv(1, socket.MSG_PEEK) == b""
            finally:
                sock.settimeout(self.timeout)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _recv(self, block: bool) -> bool:
        """Append what arrived to the buffer; False when nothing has (the socket set non-blocking)."""
        assert self._sock is not None
        try:
            chunk = self._sock.recv(65536)  # non-blocking when the caller set the socket so
        except BlockingIOError:
            return False
        if not chunk:
            raise ConnectionResetError("connection closed by the extension")
        self._buf += chunk
        return True

    def _read_response(self, block: bool) -> int | None:
        """The next answer's status, consumed from the connection; None if it has not fully arrived yet
        (``block=False``)."""
        while True:
            parsed = self._parse()
            if parsed is not None:
                status, used, close = parsed
                self._buf = self._buf[used:]
                if close:
                    self.close()
                return status
            if not self._recv(block):
                return None

    def _parse(self) -> tuple[int, int, bool] | None:
        """(status, bytes used, close) of the complete answer at the start of the buffer, else None."""
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        lines = buf[:end].decode("latin-1").split("\r\n")
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
        start = end + 4
        if chunked:
            last = buf.find(b"0\r\n\r\n", start)
            return None if last < 0 else (status, last + 5, close)
        return None if len(buf) - start < length else (status, start + length, close)


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
