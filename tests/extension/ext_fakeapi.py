"""A fake Extensions API on 127.0.0.1:0 for running the real extension process outside the emulator: it
answers register, hands out queued events on /event/next, and records init/exit errors."""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeExtensionsApi:
    EXT_ID = "8f1e1e1e-0000-4000-8000-000000000000"

    def __init__(self) -> None:
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.registered = threading.Event()
        self.errors: list[tuple[str, str, dict[str, Any]]] = []
        self.errored = threading.Event()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path.endswith("/register"):
                    api.registered.set()
                    self._reply(200, b'{"functionName":"f"}', {"Lambda-Extension-Identifier": api.EXT_ID})
                    return
                error_type = self.headers.get("Lambda-Extension-Function-Error-Type", "")
                api.errors.append((self.path, error_type, json.loads(body or b"{}")))
                api.errored.set()
                self._reply(202, b'{"status":"OK"}')

            def do_GET(self) -> None:
                event = api.events.get()
                self._reply(200, json.dumps(event).encode(), {"Content-Type": "application/json"})

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def shutdown_event(self, in_ms: int = 2000) -> None:
        import time

        deadline = int(time.time() * 1000) + in_ms
        self.events.put({"eventType": "SHUTDOWN", "deadlineMs": deadline, "shutdownReason": "spindown"})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
