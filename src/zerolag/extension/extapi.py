"""A minimal client of the Extensions API over a raw socket (``http.client`` costs ~18 ms of imports, and the
extension must be registered within a few ms of starting).

Standard library ``socket`` only; a new loopback connection per call. ``/event/next`` blocks without a
timeout, as the contract requires (section 2).
"""

from __future__ import annotations

import socket

# Copies of zerolag.lambda_wire's names: importing that module before registering costs ~10 ms (it needs
# typing, which needs re). tests/extension/test_extapi.py checks the copies equal the originals.
EXTENSION_REGISTER = "/2020-01-01/extension/register"
EXTENSION_NEXT = "/2020-01-01/extension/event/next"
EXTENSION_INIT_ERROR = "/2020-01-01/extension/init/error"
EXTENSION_EXIT_ERROR = "/2020-01-01/extension/exit/error"
H_EXTENSION_NAME = "Lambda-Extension-Name"
H_EXTENSION_ID = "Lambda-Extension-Identifier"
H_EXTENSION_ERROR_TYPE = "Lambda-Extension-Function-Error-Type"


def _connect(host: str, port: int, timeout: float | None) -> socket.socket:
    """Connect without ``getaddrinfo`` for an IPv4 ``host`` (getaddrinfo imports the idna codec)."""
    parts = host.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((host, port))
        except OSError:
            sock.close()
            raise
        return sock
    return socket.create_connection((host, port), timeout=timeout)


class ExtensionApiError(RuntimeError):
    """The Extensions API refused a call or could not be reached."""


def call(
    api: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    *,
    timeout: float | None = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 exchange with ``api`` (``host:port``); returns (status, lowercase headers, body)."""
    host, _, port = api.rpartition(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {api}", "Connection: close", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    try:
        with _connect(host or "127.0.0.1", int(port), timeout) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.sendall(request)
            with sock.makefile("rb") as rfile:
                return _read_response(rfile)
    except (OSError, ValueError) as exc:
        raise ExtensionApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc


def _read_response(rfile: object) -> tuple[int, dict[str, str], bytes]:
    status_line = rfile.readline(65537)  # type: ignore[attr-defined]
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError("malformed status line")
    headers: dict[str, str] = {}
    while True:
        line = rfile.readline(65537)  # type: ignore[attr-defined]
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    body: bytes = rfile.read(int(length)) if length is not None else rfile.read()  # type: ignore[attr-defined]
    return int(parts[1]), headers, body


def register(api: str, name: str) -> tuple[str, bytes]:
    """Register for INVOKE and SHUTDOWN; returns (extension id, response body)."""
    body = b'{"events":["INVOKE","SHUTDOWN"]}'
    status, headers, reply = call(
        api, "POST", EXTENSION_REGISTER, {H_EXTENSION_NAME: name, "Content-Type": "application/json"}, body
    )
    ext_id = headers.get(H_EXTENSION_ID.lower(), "")
    if status != 200 or not ext_id:
        raise ExtensionApiError(f"register: HTTP {status}: {reply[:200]!r}")
    return ext_id, reply


def next_event(api: str, ext_id: str) -> bytes:
    """Block until the next event and return its JSON body."""
    status, _, body = call(api, "GET", EXTENSION_NEXT, {H_EXTENSION_ID: ext_id}, timeout=None)
    if status != 200:
        raise ExtensionApiError(f"event/next: HTTP {status}: {body[:200]!r}")
    return body


def report_error(api: str, ext_id: str, error_type: str, message: str, *, init: bool) -> None:
    """``/extension/init/error`` (``init``) or ``/extension/exit/error``; the platform ends the extension."""
    import json

    body = json.dumps({"errorMessage": message, "errorType": error_type}).encode()
    path = EXTENSION_INIT_ERROR if init else EXTENSION_EXIT_ERROR
    headers = {H_EXTENSION_ID: ext_id, H_EXTENSION_ERROR_TYPE: error_type, "Content-Type": "application/json"}
    call(api, "POST", path, headers, body)
