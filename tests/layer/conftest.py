"""Fixtures for the layer tests: a built layer tree and a recording fake of the Extensions API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from zerolag.layer.build import build_layer_tree


@pytest.fixture(scope="session")
def layer_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The layer built from this source tree, as a directory."""
    return build_layer_tree(tmp_path_factory.mktemp("layer") / "opt")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeExtensionsApi:
    """Answers register with an identifier and init/error with 202, recording every request."""

    address: str
    requests: list[RecordedRequest] = field(default_factory=list)
    init_error: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def extensions_api() -> Iterator[FakeExtensionsApi]:
    """A fake Extensions API on 127.0.0.1, port 0."""
    state: list[FakeExtensionsApi] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            api = state[0]
            api.requests.append(RecordedRequest("POST", self.path, dict(self.headers.items()), body))
            if self.path.endswith("/extension/register"):
                reply = json.dumps({"functionName": "fn", "functionVersion": "$LATEST", "handler": "app.h"})
                self.send_response(200)
                self.send_header("Lambda-Extension-Identifier", "8b6fa1b8-2bd1-4c4b-9b0b-7d6a3a9d2a11")
            else:
                reply = json.dumps({"status": "OK"})
                self.send_response(202)
            data = reply.encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            if self.path.endswith("/extension/init/error"):
                api.init_error.set()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(FakeExtensionsApi(address=f"127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server, a real HTTP server on 127.0.0.1 port 0, as an endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> str:
    """Fake credentials and AWS_ENDPOINT_URL pointing boto3 at moto's server."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint
