"""The connection side of the loopback HTTP server: accept loop, one thread per connection, bounded."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping

from zerolag.extension.http import (
    Handler,
    HttpError,
    HttpRequest,
    HttpResponse,
    decode_body,
    discard_body,
    error_response,
    read_body,
    read_head,
    render,
)

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BUDGET_WAIT_S = 10.0  # how long a request may wait for body memory before it gets 503
DRAIN_TIMEOUT_S = 2.0  # how long a refused body may stall while it is read and dropped
RETRY_AFTER_S = 1  # what a 503 "busy" tells the sender (OTLP exporters retry 503 and honour Retry-After)
INTAKE_BYTES_VAR = "ZEROLAG_INTAKE_MEMORY_BYTES"
INTAKE_BYTES_DEFAULT = 40 * 1024 * 1024
DecodeCost = Callable[[dict[str, str], int], int]


def bind_loopback(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 = any free port). Raises ``OSError`` when the port is
    taken.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class ByteBudget:
    """Bounds the memory all connections may hold in request bodies at once (raw plus decompressed)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.peak = 0
        self._cond = threading.Condition()

    def acquire(self, n: int, timeout: float) -> bool:
        n = min(n, self.total)
        with self._cond:
            if not self._cond.wait_for(lambda: self.used + n <= self.total, timeout):
                return False
            self.used += n
            self.peak = max(self.peak, self.used)
            return True

    def release(self, n: int) -> None:
        with self._cond:
            self.used -= min(n, self.total)
            self._cond.notify_all()


_shared: ByteBudget | None = None
_shared_lock = threading.Lock()


def intake_budget(total: int = INTAKE_BYTES_DEFAULT) -> ByteBudget:
    """The one budget every receiver of the process shares (the first caller sets its size): the bytes
    of request bodies being held and decoded at once, whichever port they came in on."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ByteBudget(total)
        return _shared


def intake_bytes(env: Mapping[str, str]) -> int:
    """``ZEROLAG_INTAKE_MEMORY_BYTES`` (read before the configuration is loaded; config.py validates it)."""
    raw = env.get(INTAKE_BYTES_VAR, "").strip()
    return int(raw) if raw.isdigit() and int(raw) >= 1 << 20 else INTAKE_BYTES_DEFAULT


def body_reservation(headers: dict[str, str], max_body: int) -> int:
    """Bytes a request may hold in memory: its body (``max_body`` when chunked), plus ``max_body`` more when
    it must be decompressed."""
    length = headers.get("content-length", "")
    size = (
        int(length)
        if length.isdigit() and "chunked" not in headers.get("transfer-encoding", "")
        else max_body
    )
    size = min(size, max_body)
    if headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        size += max_body
    return size


class HttpServer:
    """Serves ``handler`` on an already listening socket until ``close``."""

    def __init__(
        self,
        sock: socket.socket,
        handler: Handler,
        *,
        max_body: int,
        max_connections: int = 64,
        idle_timeout_s: float = 60.0,
        on_error: Callable[[str], None] | None = None,
        name: str = "http",
        budget_bytes: int | None = None,
        budget_wait_s: float = BUDGET_WAIT_S,
        decode_cost: DecodeCost | None = None,
    ) -> None:
        """``budget_bytes`` gives this server a budget of its own (tests); by default all servers share
        ``intake_budget()``. ``decode_cost(headers, body_bytes)`` is the memory the handler needs beyond the
        body to decode it; it is reserved with the body, before the body is read."""
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        self.handler = handler
        self.max_body = max_body
        self.idle_timeout_s = idle_timeout_s
        self._on_error = on_error
        self._slots = threading.BoundedSemaphore(max_connections)
        self.budget = intake_budget() if budget_bytes is None else ByteBudget(budget_bytes)
        self.decode_cost = decode_cost or getattr(handler, "decode_cost", None)
        self.budget_wait_s = budget_wait_s
        self._closed = False
        self._name = name
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._accept_loop, name=f"zerolag-{self._name}", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        with self._lock:
            for conn in list(self._connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                if self._closed:
                    return
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if not self._slots.acquire(blocking=False):
                with contextlib.suppress(OSError):
                    busy = error_response(503, "too many connections", RETRY_AFTER_S)
                    conn.sendall(render(busy, keep_alive=False))
                conn.close()
                continue
            with self._lock:
                self._connections.add(conn)
            threading.Thread(
                target=self._serve, args=(conn,), name=f"zerolag-{self._name}-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(self.idle_timeout_s)
            with conn.makefile("rb", buffering=65536) as rfile:
                while self._serve_one(conn, rfile):
                    pass
        except (OSError, ValueError):
            pass  # client went away or timed out: nothing to answer
        finally:
            with self._lock:
                self._connections.discard(conn)
            self._slots.release()
            with contextlib.suppress(OSError):
                conn.close()

    def _serve_one(self, conn: socket.socket, rfile: object) -> bool:
        """Read, handle and answer one request; False when the connection must end."""
        keep_alive = True
        try:
            request = read_head(rfile)  # type: ignore[arg-type]
            if request is None:
                return False
            keep_alive = request.headers.get("connection", "").lower() != "close"
            reserved = body_reservation(request.headers, self.max_body)
            if self.decode_cost is not None:
                reserved += self.decode_cost(request.headers, min(reserved, self.max_body))
            if not self.budget.acquire(reserved, self.budget_wait_s):
                expects = request.headers.get("expect", "").lower() == "100-continue"
                drained = False
                if not expects:
                    conn.settimeout(DRAIN_TIMEOUT_S)  # a client that stalls is not waited for
                    drained = discard_body(rfile, request, self.max_body)  # type: ignore[arg-type]
                    conn.settimeout(self.idle_timeout_s)
                raise HttpError(
                    503, "busy: too many bytes in flight", close=not drained, retry_after=RETRY_AFTER_S
                )
            try:
                response = self._read_and_handle(conn, rfile, request)
                if response.after is not None:
                    conn.sendall(render(response, keep_alive))
                    self._run_after(response.after)
                    return keep_alive
            finally:
                self.budget.release(reserved)
        except HttpError as exc:
            response = error_response(exc.status, str(exc), exc.retry_after)
            keep_alive = keep_alive and not exc.close
        conn.sendall(render(response, keep_alive))
        return keep_alive

    def _read_and_handle(self, conn: socket.socket, rfile: object, request: HttpRequest) -> HttpResponse:
        if request.headers.get("expect", "").lower() == "100-continue":
            conn.sendall(CONTINUE)
        raw = read_body(rfile, request, self.max_body)  # type: ignore[arg-type]
        request.body = decode_body(raw, request.headers.get("content-encoding", ""), self.max_body)
        del raw
        return self._handle(request)

    def _run_after(self, work: Callable[[], None]) -> None:
        try:
            work()
        except Exception as exc:  # as for handlers: counted and reported, never fatal to the server
            if self._on_error is not None:
                self._on_error(f"{type(exc).__name__} after a response in {self._name}")

    def _handle(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.handler(request)
        except HttpError:
            raise
        except Exception as exc:  # the server must outlive any handler bug; the bug is reported, not raised
            if self._on_error is not None:
                self._on_error(f"{type(exc).__name__} in {self._name} handler")
            return error_response(500, "internal error")
