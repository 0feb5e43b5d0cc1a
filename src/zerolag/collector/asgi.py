"""The collector's HTTP edge as an ASGI application: it turns an ASGI request into ``app.Request``, runs
``App`` on worker threads, and enforces what only the edge can (docs/collector.md, "Limits"):

- the head is judged before the body is read (``App.admit``): no key, no body;
- a request with both ``Content-Length`` and ``Transfer-Encoding`` is refused (``400``, connection closed):
  its framing is ambiguous, the root of request smuggling (h11 itself refuses two different
  ``Content-Length`` values, and merges identical ones as RFC 9110 allows);
- a body is read within ``body_timeout_s`` in total (``408``), however slowly it trickles, and only up to
  the limit (``413``); chunked bodies are welcome (the OpenTelemetry JS exporter streams);
- the bytes of bodies being read, across all connections, stay under ``max_buffered_bytes``; past it a
  request gets a retryable ``503`` with ``Retry-After``.

Every response carries ``app.SECURITY_HEADERS`` and ``Server: zerolag-collector``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from zerolag.collector import receiver
from zerolag.collector.app import SECURITY_HEADERS, App, Request, Response
from zerolag.collector.limits import Budget

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

SERVER_NAME: Final = b"zerolag-collector"
_HEADERS: Final = [(b"server", SERVER_NAME)] + [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS]


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class _Gone(Exception):
    """The client went away mid-request."""


class AsgiApp:
    """``App`` behind ASGI, with ingest and reads on separate worker pools (a flood of large exports cannot
    starve the viewer)."""

    def __init__(self, app: App, buffer_budget: Budget) -> None:
        self.app = app
        self.buffered = buffer_budget
        workers = app.config.workers
        self._ingest = ThreadPoolExecutor(workers, thread_name_prefix="zerolag-ingest")
        self._read = ThreadPoolExecutor(workers, thread_name_prefix="zerolag-read")

    def close(self) -> None:
        self._ingest.shutdown(wait=True, cancel_futures=True)
        self._read.shutdown(wait=True, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response, close = await self._respond(scope, receive)
        except _Gone:
            return
        except Exception:
            logger.exception("%s %s failed", scope.get("method"), scope.get("path"))
            response, close = Response(500, "text/plain", b"internal error\n"), True
        await _send(send, response, close=close)
        if logger.isEnabledFor(logging.DEBUG):  # the path only: a query may hold ?key=
            logger.debug("%s %s %d", scope["method"], scope["path"], response.status)

    async def _respond(self, scope: Scope, receive: Receive) -> tuple[Response, bool]:
        raw = scope["headers"]
        lengths = [v for k, v in raw if k == b"content-length"]
        chunked = any(k == b"transfer-encoding" for k, _ in raw)
        if len(lengths) > 1 or (lengths and chunked):
            return Response(400, "text/plain", b"ambiguous body framing\n"), True
        request = Request(scope["method"], _target(scope), _headers(raw))
        refusal = self.app.admit(request)
        if refusal is not None:
            # the body was not read: the connection cannot carry another request
            return refusal, scope["method"] not in ("GET", "HEAD")
        if request.method == "POST":
            try:
                body = await asyncio.wait_for(
                    self._body(receive, self.app.max_body(request), request),
                    self.app.config.body_timeout_s,
                )
            except _Refused as refused:
                return refused.response, True
            except asyncio.TimeoutError:
                return _failure(request, 408, "request body too slow"), True
            try:
                request = Request(request.method, request.target, request.headers, bytes(body))
                del body
                return await self._run(self._ingest, request), False
            finally:
                self.buffered.give(len(request.body))
        return await self._run(self._read, request), False

    async def _run(self, pool: ThreadPoolExecutor, request: Request) -> Response:
        return await asyncio.get_running_loop().run_in_executor(pool, self.app.handle, request)

    async def _body(self, receive: Receive, limit: int, request: Request) -> bytearray:
        """The whole body, reserving its bytes from the shared budget as they come."""
        body = bytearray()
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Gone
                chunk = message.get("body", b"")
                if len(body) + len(chunk) > limit:
                    raise _Refused(_failure(request, 413, "body larger than the collector accepts"))
                if chunk and not self.buffered.try_take(len(chunk)):
                    raise _Refused(_busy(request))
                body += chunk
                if not message.get("more_body", False):
                    return body
        except BaseException:
            self.buffered.give(len(body))
            raise


def _failure(request: Request, status: int, message: str) -> Response:
    reply = receiver.failure(status, message, receiver.media_type(request.headers.get("Content-Type")))
    return Response(reply.status, reply.content_type, reply.body)


def _busy(request: Request) -> Response:
    response = _failure(request, 503, "collector busy, retry later")
    response.headers.append(("Retry-After", "1"))
    return response


def _target(scope: Scope) -> str:
    """The request target as sent (h11 admits only visible ASCII there)."""
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    target: bytes = path + (b"?" + query if query else b"")
    return target.decode("latin-1")


def _headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names are case-insensitive on the wire; ``App`` reads them Title-Cased."""
    return {name.decode("latin-1").title(): value.decode("latin-1") for name, value in raw}


async def _send(send: Send, response: Response, *, close: bool) -> None:
    headers = [
        *_HEADERS,
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(response.body)).encode()),
        *((name.lower().encode(), value.encode("latin-1")) for name, value in response.headers),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
