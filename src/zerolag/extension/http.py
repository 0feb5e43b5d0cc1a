"""A small HTTP/1.1 server for loopback receivers: a thread per connection, keep-alive, TCP_NODELAY.

Standard library sockets only (``http.server`` costs ~18 ms of imports and answers with several small writes;
with Nagle on, keep-alive clients then wait ~40 ms per request). Every response is written with one
``sendall`` on a ``TCP_NODELAY`` socket. Bodies may be ``Content-Length`` or chunked; ``gzip``/``deflate``
bodies are decoded here, bounded by ``max_body``. Bad framing gets 400, too large 413, an unknown encoding
415; nothing a client sends can crash the server, and the number of connections (so threads and memory) is
bounded.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import BinaryIO

MAX_LINE = 8192
MAX_HEADERS = 100
REASONS = {
    100: "Continue",
    200: "OK",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class HttpRequest:
    """One request: ``headers`` has lowercase names; ``body`` is already decoded (gzip/deflate)."""

    __slots__ = ("body", "headers", "method", "path", "query")

    def __init__(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes = b""
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body


class HttpResponse:
    """One response. ``after`` is work to do once the response is sent (the client is not kept waiting for
    it), before the next request on the same connection is read."""

    __slots__ = ("after", "body", "content_type", "headers", "status")

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: tuple[tuple[str, str], ...] = (),
        after: Callable[[], None] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers
        self.after = after


Handler = Callable[[HttpRequest], HttpResponse]


class HttpError(Exception):
    """A request the server refuses; ``close`` drops the connection after the reply (framing is lost)."""

    def __init__(
        self, status: int, message: str, *, close: bool = False, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.close = close
        self.retry_after = retry_after


def render(response: HttpResponse, keep_alive: bool) -> bytes:
    """The whole response as one byte string (one send)."""
    lines = [f"HTTP/1.1 {response.status} {REASONS.get(response.status, 'Unknown')}"]
    if response.status not in (204,):
        lines.append(f"Content-Type: {response.content_type}")
        lines.append(f"Content-Length: {len(response.body)}")
    lines.extend(f"{k}: {v}" for k, v in response.headers)
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


def error_response(status: int, message: str, retry_after: int | None = None) -> HttpResponse:
    """A JSON error; ``retry_after`` (seconds) marks it retryable (503 busy) for OTLP exporters."""
    safe = message.replace("\\", "/").replace('"', "'")
    body = f'{{"code":{status},"message":"{safe}"}}'.encode()
    headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
    return HttpResponse(status, body, headers=headers)


def _readline(rfile: BinaryIO) -> bytes:
    line = rfile.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise HttpError(400, "line too long", close=True)
    return line


def read_head(rfile: BinaryIO) -> HttpRequest | None:
    """Request line and headers; None on a clean close before a request starts."""
    line = _readline(rfile)
    while line in (b"\r\n", b"\n"):  # tolerate stray CRLF between requests
        line = _readline(rfile)
    if not line:
        return None
    parts = line.decode("latin-1").split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line", close=True)
    headers: dict[str, str] = {}
    for _ in range(MAX_HEADERS + 1):
        raw = _readline(rfile)
        if raw in (b"\r\n", b"\n"):
            break
        if not raw:
            raise HttpError(400, "truncated headers", close=True)
        name, sep, value = raw.decode("latin-1").partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise HttpError(400, "malformed header", close=True)
        key = name.lower()
        headers[key] = f"{headers[key]},{value.strip()}" if key in headers else value.strip()
    else:
        raise HttpError(400, "too many headers", close=True)
    path, _, query = parts[1].partition("?")
    if parts[2] == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
        headers.setdefault("connection", "close")
    return HttpRequest(parts[0].upper(), path, query, headers)


def _read_exact(rfile: BinaryIO, n: int) -> bytes:
    data = rfile.read(n)
    if len(data) != n:
        raise HttpError(400, "truncated body", close=True)
    return data


def _read_chunked(rfile: BinaryIO, max_body: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_line = _readline(rfile).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise HttpError(400, "bad chunk size", close=True) from None
        if size < 0:
            raise HttpError(400, "bad chunk size", close=True)
        if size == 0:
            while _readline(rfile) not in (b"\r\n", b"\n", b""):
                pass  # trailers are ignored
            return b"".join(parts)
        total += size
        if total > max_body:
            raise HttpError(413, "body too large", close=True)
        parts.append(_read_exact(rfile, size))
        if _readline(rfile) not in (b"\r\n", b"\n"):
            raise HttpError(400, "bad chunk terminator", close=True)


def read_body(rfile: BinaryIO, request: HttpRequest, max_body: int) -> bytes:
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return _read_chunked(rfile, max_body)
    raw = request.headers.get("content-length")
    if raw is None:
        return b""
    if not raw.isdigit():
        raise HttpError(400, "bad Content-Length", close=True)
    length = int(raw)
    if length > max_body:
        raise HttpError(413, "body too large", close=True)
    return _read_exact(rfile, length)


def discard_body(rfile: BinaryIO, request: HttpRequest, max_body: int) -> bool:
    """Read and drop a request's body in small pieces (no memory held), so that a refused client, which
    sends its whole body before it reads, gets the answer instead of a reset. False when the framing
    cannot be followed or the body is over ``max_body`` (the connection must then be closed)."""
    piece = 65536
    try:
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            total = 0
            while True:
                size = int(_readline(rfile).split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while _readline(rfile) not in (b"\r\n", b"\n", b""):
                        pass
                    return True
                total += size
                if size < 0 or total > max_body:
                    return False
                while size > 0:
                    size -= len(_read_exact(rfile, min(size, piece)))
                _readline(rfile)
        raw = request.headers.get("content-length", "0")
        if not raw.isdigit() or int(raw) > max_body:
            return False
        left = int(raw)
        while left > 0:
            left -= len(_read_exact(rfile, min(left, piece)))
        return True
    except (HttpError, ValueError, OSError):  # OSError: a timeout, the client is too slow to drain
        return False


def decode_body(body: bytes, encoding: str, max_body: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip, possibly multi-member, or deflate), bounded by ``max_body``."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise HttpError(415, f"unsupported Content-Encoding {encoding[:40]}")
    out: list[bytes] = []
    total = 0
    data = body
    wbits = 47 if encoding != "deflate" else 15  # 47 = gzip or zlib header, auto-detected
    while data:
        decoder = zlib.decompressobj(wbits)
        try:
            piece = decoder.decompress(data, max_body - total + 1)
        except zlib.error:
            raise HttpError(400, f"malformed {encoding} body") from None
        total += len(piece)
        if total > max_body:
            raise HttpError(413, "decompressed body too large")
        if not decoder.eof:
            raise HttpError(400, f"truncated {encoding} body")
        out.append(piece)
        data = decoder.unused_data
    return b"".join(out)
