"""The collector's process edge: uvicorn (HTTP/1.1 on h11) serving ``asgi.AsgiApp``, and a retention thread.

The HTTP parsing is h11's, a maintained implementation that rejects malformed request lines, conflicting
``Content-Length`` headers and oversized heads with a 400; uvicorn caps open connections
(``max_connections``: a new request past it gets a 503). One thing neither does is bound how long a client
may take to send a request head, so ``_Protocol`` closes a connection whose head is not complete within
``header_timeout_s`` (a slowloris costs a socket for seconds, never a thread).

``Collector`` has the lifecycle of every long-lived object here: ``start()``, ``shutdown(timeout)``, and
use as a context manager. ``port=0`` picks a free port; ``url`` tells which.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from types import TracebackType

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from zerolag.collector.app import App
from zerolag.collector.asgi import AsgiApp
from zerolag.collector.config import CollectorConfig
from zerolag.collector.limits import Budget
from zerolag.collector.store import DataStore, open_store

logger = logging.getLogger(__name__)

KEEP_ALIVE_S = 15  # idle time between requests on one connection (exporters reuse connections)


class _Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head."""

    header_timeout_s = 10.0
    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm_head_deadline()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request head arrived
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()  # the next request's head, if one comes, within the same time

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.cycle is None or self.cycle.response_complete:
            self.transport.close()


class _Server(uvicorn.Server):
    """``uvicorn.Server`` that tells when it is accepting."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


class Collector:
    """The OTLP receiver, store and viewer on one port."""

    def __init__(self, config: CollectorConfig, store: DataStore | None = None) -> None:
        self.config = config
        self._socket = _bind(config.host, config.port)  # bind first: a busy port opens no store
        try:
            self.store = store if store is not None else open_store(config.store_target)
        except BaseException:
            self._socket.close()
            raise
        quiet_http_logs()
        self.buffer_budget = Budget(config.max_buffered_bytes)
        self.app = App(config, self.store)
        self.asgi = AsgiApp(self.app, self.buffer_budget)
        protocol = type("Protocol", (_Protocol,), {"header_timeout_s": config.header_timeout_s})
        self._server = _Server(
            uvicorn.Config(
                self.asgi,
                http=protocol,
                lifespan="off",
                log_config=None,
                access_log=False,
                server_header=False,
                limit_concurrency=config.max_connections,
                timeout_keep_alive=KEEP_ALIVE_S,
                timeout_graceful_shutdown=5,
            )
        )
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._closed = False

    @property
    def port(self) -> int:
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        """``http://host:port``: the OTLP endpoint (``/v1/...``) and the viewer (``/``)."""
        host = self.config.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> Collector:
        serve = threading.Thread(target=self._serve, name="zerolag-collector", daemon=True)
        self._threads.append(serve)
        if self.config.retention_hours is not None or self.config.max_db_mb is not None:
            keep = threading.Thread(target=self._retention_loop, name="zerolag-retention", daemon=True)
            self._threads.append(keep)
        for thread in self._threads:
            thread.start()
        if not self._server.ready.wait(timeout) or not serve.is_alive():
            self.shutdown()
            raise RuntimeError("the collector's HTTP server did not start")
        return self

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException:
            logger.exception("the collector's HTTP server stopped")
            self._server.ready.set()

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
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._server.should_exit = True
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self._socket.close()
        self.asgi.close()
        self.store.close()

    def __enter__(self) -> Collector:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.shutdown()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def quiet_http_logs() -> None:
    """uvicorn logs a line per malformed request: keep those (and its start-up chatter) out of the log."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.ERROR)
