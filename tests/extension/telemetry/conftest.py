"""Telemetry test fixtures: a loopback Telemetry API accepting chosen schemas (or answering like RIE)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from zerolag.lambda_wire import TELEMETRY_SUBSCRIBE


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
