"""A real OTLP/HTTP backend on 127.0.0.1:0 that tests control: ok, slow, 429/500, hang, down, connection
reset mid-body, and a backend's own refusals (400 for requests holding a poisoned span name, 413 for bodies
over a size).

It decodes what arrives (gzip + protobuf) so tests can check that every span, data point and log record
arrived exactly once.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zerolag.otlp import protobuf


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Backend:
    """``mode`` is ``ok``, ``status`` (answers ``status`` with ``retry_after``), ``slow`` (``delay`` s),
    ``hang`` (holds requests until ``release`` or a mode change, then drops them unanswered and unprocessed)
    ``reset`` (reads part of the body, then resets the connection) or ``drip`` (starts answering, then sends
    one header byte every ``delay`` s until released); ``stop``/``start`` make it down/up.

    Independently of the mode, a request holding a span whose name starts with ``poison`` is refused with 400
    (as a backend refuses data it finds invalid) and a body larger than ``max_body`` decompressed bytes with
    413; ``refused`` records each refusal as (status, item count)."""

    def __init__(self, port: int = 0) -> None:
        self.mode = "ok"
        self.status = 500
        self.retry_after: str | None = None
        self.delay = 0.0
        self.silent_close = (
            False  # close each connection after answering, without saying so (a dead keep-alive)
        )
        self.max_body: int | None = None
        self.refused: list[tuple[int, int]] = []
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.attempts = 0
        self._cond = threading.Condition()
        self._release = threading.Event()
        self._server: _Server | None = None
        self._connections: set[socket.socket] = set()
        self.port = port
        self.start()

    # --- control -----------------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with backend._cond:
                    backend._connections.add(self.connection)

            def finish(self) -> None:
                with backend._cond:
                    backend._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                backend._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: stop listening and drop connections (later connects are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._cond:
            connections = list(self._connections)
        for conn in connections:  # a dead backend also drops the kept-alive connections
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._release.set()

    def set_mode(self, mode: str, **kw: Any) -> None:
        self.mode = mode
        for k, v in kw.items():
            setattr(self, k, v)
        if mode in ("hang", "drip"):
            self._release.clear()
        else:
            self._release.set()

    def release(self) -> None:
        self._release.set()

    # --- inspection ----------------------------------------------------------------------------------------
    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)

    def spans(self) -> list[dict[str, Any]]:
        return [
            s
            for sig, req, _ in self.requests
            if sig == "traces"
            for s in _items(req, "resourceSpans", "scopeSpans", "spans")
        ]

    def log_records(self) -> list[dict[str, Any]]:
        return [
            r
            for sig, req, _ in self.requests
            if sig == "logs"
            for r in _items(req, "resourceLogs", "scopeLogs", "logRecords")
        ]

    def metrics(self) -> list[dict[str, Any]]:
        return [
            m
            for sig, req, _ in self.requests
            if sig == "metrics"
            for m in _items(req, "resourceMetrics", "scopeMetrics", "metrics")
        ]

    def span_name_counts(self) -> Counter[str]:
        return Counter(s["name"] for s in self.spans())

    def close(self) -> None:
        self.stop()

    # --- serving -------------------------------------------------------------------------------------------
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length", "0"))
        with self._cond:
            self.attempts += 1
            self._cond.notify_all()
        mode = self.mode
        if mode == "reset":
            h.rfile.read(length // 2)
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()  # RST: the client sees a connection reset, the data is not processed
            h.close_connection = True
            return
        body = h.rfile.read(length)
        if mode == "hang":
            self._release.wait(120)
            h.close_connection = True  # a hung backend gives up without processing or answering
            return
        if mode == "drip":  # an answer trickling in, one header byte per `delay` s, until released
            h.wfile.write(b"HTTP/1.1 200 OK\r\nX-Drip: ")
            while not self._release.wait(self.delay):
                try:
                    h.wfile.write(b"a")
                    h.wfile.flush()
                except OSError:
                    break
            h.close_connection = True
            return
        if mode == "slow":
            time.sleep(self.delay)
        if mode == "status":
            extra = f"Retry-After: {self.retry_after}\r\n" if self.retry_after else ""
            head = f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\n{extra}\r\n"
            h.wfile.write(head.encode("latin-1"))  # header bytes are latin-1 on the wire
            return
        signal = h.path.rsplit("/", 1)[-1]
        if h.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        request = protobuf.decode(signal, body)  # type: ignore[arg-type]
        refusal = self._refusal(signal, body, request)
        if refusal is not None:
            status, message = refusal
            items = len(_items(request, "resourceSpans", "scopeSpans", "spans"))
            with self._cond:
                self.refused.append((status, items))
                self._cond.notify_all()
            text = f'{{"code":3,"message":"{message}"}}'.encode()
            head = f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(text)}\r\n"
            h.wfile.write(head.encode() + b"\r\n" + text)
            return
        with self._cond:
            self.requests.append((signal, request, {k.lower(): v for k, v in h.headers.items()}))
            self._cond.notify_all()
        h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n")
        if self.silent_close:
            h.close_connection = True

    def _refusal(self, signal: str, body: bytes, request: dict[str, Any]) -> tuple[int, str] | None:
        if self.max_body is not None and len(body) > self.max_body:
            return 413, f"request of {len(body)} bytes is over {self.max_body}"
        if signal == "traces":
            for span in _items(request, "resourceSpans", "scopeSpans", "spans"):
                if str(span.get("name", "")).startswith("poison"):
                    return 400, "span name rejected by policy"
        return None


def _items(request: dict[str, Any], top: str, scope_key: str, key: str) -> list[dict[str, Any]]:
    return [item for r in request.get(top, []) for s in r.get(scope_key, []) for item in s.get(key, [])]
