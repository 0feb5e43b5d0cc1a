"""The collector's HTTP edge: a threading HTTP/1.1 server feeding ``App``, and a retention thread.

``Collector`` has the lifecycle of every long-lived object here: ``start()``, ``shutdown(timeout)``, and
use as a context manager. ``port=0`` picks a free port; ``url`` tells which.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Final

from zerolag.collector import receiver
from zerolag.collector.app import SIGNAL_FOR_PATH, App, Request, Response
from zerolag.collector.config import CollectorConfig
from zerolag.collector.store import Store

logger = logging.getLogger(__name__)

READ_TIMEOUT_S: Final = 30.0


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    app: App


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "zerolag-collector"
    timeout = READ_TIMEOUT_S
    server: _Server

    def do_POST(self) -> None:
        self._guarded(self._post)

    def do_GET(self) -> None:
        self._guarded(self._get)

    def _guarded(self, handle: Callable[[], None]) -> None:
        """Run a handler; an unexpected failure is logged and answered with 500, never a dropped socket."""
        try:
            handle()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            logger.exception("%s %s failed", self.command, self.path.split("?", 1)[0])
            self._send(_failure(500, "internal error", ""), close=True)

    def _post(self) -> None:
        path = self.path.split("?", 1)[0]
        signal = SIGNAL_FOR_PATH.get(path)
        media = receiver.media_type(self.headers.get("Content-Type"))
        if signal is None:
            self._send(_failure(404, f"no OTLP endpoint at {path}", media), drain=True)
            return
        length = self._content_length()
        if length is None:
            self._send(_failure(411, "Content-Length required", media), close=True)
            return
        if length > self.server.app.config.max_body_bytes:
            self._send(_failure(413, "body larger than the collector accepts", media), close=True)
            return
        body = self.rfile.read(length)
        if len(body) < length:
            self.close_connection = True
            return
        self._send(self.server.app.ingest(signal, Request("POST", self.path, self._headers(), body)))

    def _get(self) -> None:
        self._send(self.server.app.handle_get(Request("GET", self.path, self._headers())))

    def do_PUT(self) -> None:
        self._send(_failure(405, "method not allowed", ""), drain=True)

    do_DELETE = do_PATCH = do_PUT

    def _headers(self) -> dict[str, str]:
        """Header names are case-insensitive on the wire; ``App`` reads them Title-Cased."""
        return {name.title(): value for name, value in self.headers.items()}

    def _content_length(self) -> int | None:
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return None
        return length if length >= 0 else None

    def _send(self, response: Response, *, close: bool = False, drain: bool = False) -> None:
        if drain and (length := self._content_length()) and length <= self.server.app.config.max_body_bytes:
            self.rfile.read(length)
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in response.headers:
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Request lines go to debug, without the query string (a ``?key=`` must never reach a log)."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s %s", self.command, (self.path or "").split("?", 1)[0])


def _failure(status: int, message: str, media: str) -> Response:
    reply = receiver.failure(status, message, media)
    return Response(reply.status, reply.content_type, reply.body)


class Collector:
    """The OTLP receiver, store and viewer on one port."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self._server = _Server((config.host, config.port), _Handler)  # bind first: a busy port opens no store
        try:
            self.store = Store(config.db_path)
        except BaseException:
            self._server.server_close()
            raise
        self.app = App(config, self.store)
        self._server.app = self.app
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port``: the OTLP endpoint (``/v1/...``) and the viewer (``/``)."""
        return f"http://{self.config.host}:{self.port}"

    def start(self) -> Collector:
        serve = threading.Thread(target=self._server.serve_forever, name="zerolag-collector", daemon=True)
        self._threads.append(serve)
        if self.config.retention_hours is not None or self.config.max_db_mb is not None:
            keep = threading.Thread(target=self._retention_loop, name="zerolag-retention", daemon=True)
            self._threads.append(keep)
        for thread in self._threads:
            thread.start()
        return self

    def enforce_retention(self) -> None:
        """One retention pass with the configured limits."""
        hours, mb = self.config.retention_hours, self.config.max_db_mb
        self.store.enforce_retention(
            now_ns=time.time_ns(),
            max_age_ns=None if hours is None else int(hours * 3600e9),
            max_bytes=None if mb is None else int(mb * 1024 * 1024),
        )

    def _retention_loop(self) -> None:
        while not self._stopping.wait(self.config.retention_interval_s):
            try:
                self.enforce_retention()
            except Exception:
                logger.exception("retention pass failed")

    def serve_forever(self) -> None:
        """Serve on this thread until interrupted (the CLI's loop)."""
        self.start()
        try:
            while not self._stopping.wait(3600):
                pass
        finally:
            self.shutdown()

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop accepting, finish the threads, close the store. Idempotent."""
        if self._stopping.is_set() and not self._threads:
            return
        self._stopping.set()
        if self._threads:
            self._server.shutdown()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._server.server_close()
        self.store.close()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()
