"""A minimal client of the Extensions API over a raw socket (``http.client`` costs ~18 ms of imports, and the
extension must be registered within a few ms of starting).

Standard library ``socket`` only; a new loopback connection per call. ``/event/next`` blocks without a
timeout, as the contract requires (section 2).
"""

from __future__ import annotations

import _socket  # the C module: ``socket`` costs ~10 ms more (enum, selectors)

# Copies of zerolag.lambda_wire's names: importing that module before registering costs ~10 ms (it needs
# typing, which needs re). tests/extension/test_extapi.py checks the copies equal the originals.
EXTENSION_REGISTER = "/2020-01-01/extension/register"
EXTENSION_NEXT = "/2020-01-01/extension/event/next"
EXTENSION_INIT_ERROR = "/2020-01-01/extension/init/error"
EXTENSION_EXIT_ERROR = "/2020-01-01/extension/exit/error"
H_EXTENSION_NAME = "Lambda-Extension-Name"
H_EXTENSION_ID = "Lambda-Extension-Identifier"
H_EXTENSION_ERROR_TYPE = "Lambda-Extension-Function-Error-Type"
TELEMETRY_SUBSCRIBE = "/2022-07-01/telemetry"
TELEMETRY_SCHEMAS = ("2022-07-01", "2022-12-13", "2025-01-29")  # oldest first, as lambda_wire's
# The subscription body's constant parts (equal to telemetry.subscription's TYPES and BUFFERING, by test).
TELEMETRY_TYPES = ("platform", "function", "extension")
TELEMETRY_BUFFERING = '{"maxItems":1000,"maxBytes":262144,"timeoutMs":25}'


def _connect(host: str, port: int, timeout: float | None) -> _socket.socket:
    """A connected TCP socket (no ``getaddrinfo``, which imports the idna codec, for an IPv4 host)."""
    parts = host.split(".")
    if not (len(parts) == 4 and all(p.isdigit() for p in parts)):
        family, kind, proto, _, address = _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM)[0]
        sock = _socket.socket(family, kind, proto)
    else:
        address = (host, port)
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


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
        sock = _connect(host or "127.0.0.1", int(port), timeout)
        try:
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            sock.sendall(request)
            return _read_response(sock)
        finally:
            sock.close()
    except (OSError, ValueError) as exc:
        raise ExtensionApiError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc


def _read_response(sock: _socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of one response (``Content-Length`` or read to the close)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ValueError("connection closed before the response headers")
        data += chunk
        if len(data) > 1 << 20:
            raise ValueError("response headers too large")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(None, 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise ValueError("malformed status line")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    while (length is None or len(body) < int(length)) and (chunk := sock.recv(65536)):
        body += chunk
    return int(parts[1]), headers, body if length is None else body[: int(length)]


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


def subscribe_telemetry(api: str, ext_id: str, uri: str) -> tuple[int, str, str]:
    """Subscribe to the Telemetry API right after registering, newest schema first (an older one only after
    a 400 ``ValidationError``); returns (HTTP status, the last schema tried, reply text), status 0 when the
    API could not be reached. Done before anything else is loaded: a function whose import fails fast ends
    Init within ~50 ms of the runtime's start, and the platform accepts subscriptions only during Init
    (docs/telemetry.md). ``telemetry.subscription`` interprets the reply."""
    types = ",".join(f'"{t}"' for t in TELEMETRY_TYPES)
    status, schema, text = 0, "", "no schema offered"
    for schema in reversed(TELEMETRY_SCHEMAS):
        body = (
            f'{{"schemaVersion":"{schema}","types":[{types}],"buffering":{TELEMETRY_BUFFERING},'
            f'"destination":{{"protocol":"HTTP","URI":"{uri}"}}}}'
        ).encode()
        headers = {H_EXTENSION_ID: ext_id, "Content-Type": "application/json"}
        try:
            status, _, reply = call(api, "PUT", TELEMETRY_SUBSCRIBE, headers, body, timeout=5.0)
        except ExtensionApiError as exc:
            return 0, schema, str(exc)
        text = reply.decode("utf-8", "replace")
        if not (status == 400 and "ValidationError" in text):
            break
    return status, schema, text
