"""A raw HTTP/1.1 client over a socket: for what http.client will not send (smuggling, trickles, chunks)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def connect(port: int, timeout: float = 20.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_reply(sock: socket.socket, buffer: bytearray | None = None) -> Reply | None:
    """One response (Content-Length framed, as the collector answers), or None if the server closed first."""
    data = buffer if buffer is not None else bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    data[:] = body[length:]
    return Reply(status, headers, bytes(body[:length]))


def read_all_replies(sock: socket.socket) -> list[Reply]:
    """Every response until the server closes the connection (or the socket times out)."""
    replies: list[Reply] = []
    buffer = bytearray()
    try:
        while (reply := read_reply(sock, buffer)) is not None:
            replies.append(reply)
    except (TimeoutError, ConnectionResetError):
        pass
    return replies


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes (recv gives EOF), False if the socket's timeout passes first."""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def chunked(body: bytes, size: int = 1000) -> bytes:
    """``body`` in Transfer-Encoding: chunked framing."""
    out = bytearray()
    for i in range(0, len(body), size):
        part = body[i : i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def wait_for(condition, timeout: float = 20.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
