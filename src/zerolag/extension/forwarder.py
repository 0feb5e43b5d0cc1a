"""The backend edge: POSTs gzip-compressed OTLP protobuf to ``<endpoint>/v1/<signal>`` over one keep-alive
connection. Thin: no retry policy here (the pipeline decides), only the facts of one attempt.

A reused keep-alive connection can be dead after a long freeze (the backend or a NAT closed it while the
sandbox slept). When an attempt on a *reused* connection fails before any response byte, it is retried once on
a fresh connection at once; ``SendResult.reached`` says whether the backend may have seen the request anyway
(the body was fully written before the failure), which the pipeline counts as duplicate risk.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from zerolag.otlp import CONTENT_TYPE_PROTOBUF, PATHS, Signal

if TYPE_CHECKING:
    import http.client  # imported on the first send, in the sender thread: ~20-90 ms (with ssl) off Init

USER_AGENT = "zerolag-extension/0.1.0"
MAX_RESPONSE_BYTES = 65536  # a response body is read up to this; a longer one costs the connection
REASON_CHARS = 200  # the part of a refusal's body kept as its reason (for the log line)


@dataclass(frozen=True)
class SendResult:
    status: int | None  # None: no HTTP response (connection error, timeout, abandoned)
    retry_after: str | None = None
    error: str | None = None  # no response: the exception's type; a refusal (4xx/5xx): its body, printable
    reached: bool = False  # the request may have reached the backend although no response came back

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Forwarder:
    """Sends one batch at a time; ``abort`` (from another thread) abandons the send in flight."""

    def __init__(self, endpoint: str, headers: tuple[tuple[str, str], ...], timeout_s: float) -> None:
        parts = urlsplit(endpoint)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._base = parts.path.rstrip("/")
        self._headers = dict(headers)
        self.timeout_s = timeout_s
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()
        self._aborted = False
        self.busy_since: float | None = None  # time.monotonic() when the send in flight started
        self.bytes_sent = 0

    def clone(self) -> Forwarder:
        """Another forwarder to the same backend, with its own connection."""
        twin = Forwarder.__new__(Forwarder)
        twin.__dict__.update(self.__dict__)
        twin._conn = None
        twin._lock = threading.Lock()
        twin.busy_since = None
        twin.bytes_sent = 0
        return twin

    def url_path(self, signal: Signal) -> str:
        return self._base + PATHS[signal]

    def _connect(self) -> http.client.HTTPConnection:
        import http.client

        if self._https:
            import ssl

            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout_s)

    def reset(self) -> None:
        """Drop the pooled connection (e.g. after a long freeze, before it is found dead)."""
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def abort(self) -> None:
        """Abandon the send in flight: shut its socket down so the sending thread returns at once."""
        with self._lock:
            conn = self._conn
            self._aborted = True  # no retry on a fresh connection for the send in flight
        sock = getattr(conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stuck(self, now: float) -> bool:
        """Has the send in flight lasted over twice the timeout (a backend trickling its answer byte by byte
        resets the socket's timeout at every byte)?"""
        since = self.busy_since
        return since is not None and now - since > 2 * self.timeout_s

    def send(self, signal: Signal, payload: bytes) -> SendResult:
        self.busy_since = time.monotonic()
        try:
            return self._send(signal, payload)
        finally:
            self.busy_since = None

    def _send(self, signal: Signal, payload: bytes) -> SendResult:
        import gzip

        body = gzip.compress(payload, compresslevel=1, mtime=0)
        with self._lock:
            self._aborted = False
            conn = self._conn
            reused = conn is not None
            if conn is None:
                conn = self._conn = self._connect()
        result = self._attempt(conn, signal, body)
        if result.status is None and reused and not self._aborted:
            # Most likely a keep-alive connection that died during a freeze: try once more on a fresh one.
            # If the first attempt had written its body, the backend may have it: the result says so.
            first_reached = result.reached
            self.reset()
            with self._lock:
                conn = self._conn = self._connect()
            result = self._attempt(conn, signal, body)
            if first_reached:
                result = SendResult(result.status, result.retry_after, result.error, reached=True)
        if result.status is None:
            self.reset()
        return result

    def _attempt(self, conn: http.client.HTTPConnection, signal: Signal, body: bytes) -> SendResult:
        headers = {
            "Content-Type": CONTENT_TYPE_PROTOBUF,
            "Content-Encoding": "gzip",
            "User-Agent": USER_AGENT,
            **self._headers,
        }
        import http.client

        written = False
        try:
            conn.request("POST", self.url_path(signal), body=body, headers=headers)
            written = True
            response = conn.getresponse()
            text = response.read(MAX_RESPONSE_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            return SendResult(None, error=type(exc).__name__, reached=written)
        if self._aborted:
            # Shut down under a response being read: what was parsed may be a truncated answer (headers cut
            # short read as complete), never an acknowledgement.
            self.reset()
            return SendResult(None, error="abandoned", reached=True)
        self.bytes_sent += len(body)
        if response.will_close or not response.isclosed():  # closing, or a body longer than we read
            self.reset()
        reason = printable(text) if response.status >= 300 else None
        return SendResult(response.status, response.getheader("Retry-After"), reason)


def printable(body: bytes) -> str:
    """A response body as a short printable reason for a log line (a protobuf ``google.rpc.Status`` shows
    its message; control bytes become spaces)."""
    text = body[: REASON_CHARS * 4].decode("utf-8", "replace")
    kept = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(kept.split())[:REASON_CHARS]
