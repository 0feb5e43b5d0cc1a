"""A real API server on loopback over one sandbox generation's core, driven from the test: the test plays
the runtime and the extensions over HTTP, and the platform by calling the core directly."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from zerolag import lambda_wire as wire
from zerolag.emulator.api_server import ApiServer, start_api_server
from zerolag.emulator.core import Core, Invocation
from zerolag.emulator.seams import Hub, RecordingHub

WAIT_S = 30.0


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class FakeGeneration:
    core: Core
    hub: Hub
    registered: list[str] = field(default_factory=list)
    subscribed: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)

    def register_info(self) -> dict[str, str]:
        return {
            "functionName": "fn",
            "functionVersion": "$LATEST",
            "handler": "app.handler",
            "accountId": "1",
        }

    def on_register(self, name: str) -> None:
        self.registered.append(name)

    def on_subscribe(self, api: str, name: str, types: tuple[str, ...]) -> None:
        self.subscribed.append((api, name, types))


class Harness:
    def __init__(self, external_names: frozenset[str] = frozenset()) -> None:
        self.core = Core(external_names)
        self.gen = FakeGeneration(self.core, RecordingHub())
        self.server: ApiServer = start_api_server()
        self.server.generation = self.gen
        self.port = self.server.server_address[1]

    def close(self) -> None:
        self.core.close()
        self.server.shutdown()
        self.server.server_close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT_S)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return Reply(resp.status, dict(resp.getheaders()), resp.read())
        finally:
            conn.close()

    def background(self, fn: Callable[[], Reply]) -> Future[Reply]:
        """Run a (blocking) request in a thread."""
        fut: Future[Reply] = Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as exc:
                fut.set_exception(exc)

        threading.Thread(target=run, daemon=True).start()
        return fut

    # --- the runtime's and the extensions' calls --------------------------------------------------------
    def runtime_next(self) -> Future[Reply]:
        return self.background(lambda: self.request("GET", wire.RUNTIME_NEXT))

    def register(self, name: str, events: list[str], features: str | None = None) -> Reply:
        headers = {wire.H_EXTENSION_NAME: name}
        if features is not None:
            headers[wire.H_EXTENSION_ACCEPT_FEATURE] = features
        return self.request("POST", wire.EXTENSION_REGISTER, json.dumps({"events": events}).encode(), headers)

    def ext_next(self, ext_id: str) -> Future[Reply]:
        return self.background(
            lambda: self.request("GET", wire.EXTENSION_NEXT, headers={wire.H_EXTENSION_ID: ext_id})
        )

    # --- the platform's side ---------------------------------------------------------------------------
    def wait(self, predicate: Callable[[], bool]) -> None:
        assert self.core.wait_until(predicate, time.monotonic() + WAIT_S), "condition not reached"

    def invoke(
        self, request_id: str = "req-1", payload: bytes = b'{"k": 1}', trace: str | None = "Root=1-a"
    ) -> Invocation:
        inv = Invocation(
            request_id=request_id,
            payload=payload,
            deadline_ms=int(time.time() * 1000) + 3000,
            function_arn="arn:aws:lambda:us-east-1:1:function:fn",
            trace_id=trace,
        )
        event: dict[str, object] = {"eventType": wire.EVENT_INVOKE, "requestId": request_id}
        self.core.queue_invoke(inv, event)
        self.core.release(inv)
        return inv
