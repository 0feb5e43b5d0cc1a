"""Subscribing to the Telemetry API: newest schema first, fallback on ValidationError, clear refusal."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from zerolag.extension.telemetry.subscription import BUFFERING, subscribe
from zerolag.lambda_wire import TELEMETRY_MAX_ITEMS, TELEMETRY_SUBSCRIBE, TELEMETRY_TIMEOUT_MS


class FakeTelemetryApi:
    """A loopback Telemetry API that accepts only the schemas in ``accepted`` (or answers like RIE)."""

    def __init__(self, accepted: set[str], rie_stub: bool = False) -> None:
        self.accepted = accepted
        self.rie_stub = rie_stub
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.bodies.append(body)
                api.headers.append(dict(self.headers))
                assert self.path == TELEMETRY_SUBSCRIBE
                if api.rie_stub:
                    self._reply(202, {"errorType": "Telemetry.NotSupported", "errorMessage": "Not supported"})
                elif body["schemaVersion"] in api.accepted:
                    self._reply(200, "OK")
                else:
                    self._reply(400, {"errorType": "ValidationError", "errorMessage": "bad schemaVersion"})

            def _reply(self, status: int, obj: object) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def api_factory() -> Iterator[Any]:
    servers: list[FakeTelemetryApi] = []

    def make(accepted: set[str], rie_stub: bool = False) -> FakeTelemetryApi:
        api = FakeTelemetryApi(accepted, rie_stub)
        api.thread.start()
        servers.append(api)
        return api

    yield make
    for api in servers:
        api.server.shutdown()
        api.server.server_close()


def test_newest_schema_is_used_when_accepted(api_factory: Any) -> None:
    """The first PUT asks for 2025-01-29 with platform/function/extension, HTTP sandbox URI and buffering."""
    api = api_factory({"2025-01-29", "2022-12-13", "2022-07-01"})
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:4321")
    assert result.ok
    assert result.schema == "2025-01-29"
    (body,) = api.bodies
    assert body["types"] == ["platform", "function", "extension"]
    assert body["destination"] == {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4321"}
    assert api.headers[0]["Lambda-Extension-Identifier"] == "ext-id"
    assert TELEMETRY_MAX_ITEMS[0] <= body["buffering"]["maxItems"] <= TELEMETRY_MAX_ITEMS[1]
    assert TELEMETRY_TIMEOUT_MS[0] <= body["buffering"]["timeoutMs"] <= TELEMETRY_TIMEOUT_MS[1]
    assert body["buffering"] == BUFFERING


def test_falls_back_to_older_schema_on_validation_error(api_factory: Any) -> None:
    """A platform that knows only 2022-07-01 gets it after two ValidationErrors."""
    api = api_factory({"2022-07-01"})
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:1")
    assert result.schema == "2022-07-01"
    assert [b["schemaVersion"] for b in api.bodies] == ["2025-01-29", "2022-12-13", "2022-07-01"]


def test_rie_not_supported_stub_is_a_refusal(api_factory: Any) -> None:
    """RIE's 202 Telemetry.NotSupported is reported as refused, with the error type, after one try."""
    api = api_factory(set(), rie_stub=True)
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:1")
    assert not result.ok
    assert "Telemetry.NotSupported" in result.message
    assert len(api.bodies) == 1


def test_unreachable_api_is_a_refusal_not_an_exception() -> None:
    """A closed port gives a refused result naming the connection error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subscribe(f"127.0.0.1:{port}", "ext-id", "http://sandbox.localdomain:1", timeout=5)
    assert not result.ok
    assert result.status == 0
    assert "Error" in result.message
