"""A real OTLP/HTTP receiver on 127.0.0.1:0 for the agent's tests: it stands in for the extension (it honours
X-Zerolag-Request-Id / X-Zerolag-Final) or for a backend, decodes every request with zerolag.otlp.protobuf and
lets a test wait for what it expects. Also a "hanging" endpoint that accepts connections and never answers."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zerolag.otlp import protobuf

SIGNAL_OF = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}


class Received:
    def __init__(self, path: str, headers: dict[str, str], body: bytes) -> None:
        self.path, self.headers, self.body = path, headers, body
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        self.body = body
        self.signal = SIGNAL_OF.get(path, "")
        self.request = protobuf.decode(self.signal, body) if self.signal else {}


class Sink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.cond = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                rec = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                with sink.cond:
                    sink.received.append(rec)
                    sink.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                body = b"hello from the sink"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate: Callable[[Sink], bool], timeout: float = 60.0) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate(self), timeout)

    def finals(self) -> list[str]:
        return [
            r.headers.get("x-zerolag-request-id", "")
            for r in self.received
            if r.headers.get("x-zerolag-final")
        ]

    def spans(self) -> list[dict[str, Any]]:
        """Every span received, each with its resource attributes under ``_resource``."""
        out = []
        for rec in list(self.received):
            if rec.signal != "traces":
                continue
            for rs in rec.request.get("resourceSpans", []):
                resource = attrs(rs.get("resource", {}).get("attributes", []))
                for ss in rs.get("scopeSpans", []):
                    for s in ss.get("spans", []):
                        out.append({**s, "_resource": resource, "_attrs": attrs(s.get("attributes", []))})
        return out

    def logs(self) -> list[dict[str, Any]]:
        out = []
        for rec in list(self.received):
            for rl in rec.request.get("resourceLogs", []) if rec.signal == "logs" else []:
                for sl in rl.get("scopeLogs", []):
                    for lr in sl.get("logRecords", []):
                        out.append({**lr, "_attrs": attrs(lr.get("attributes", []))})
        return out

    def metrics(self) -> list[dict[str, Any]]:
        out = []
        for rec in list(self.received):
            for rm in rec.request.get("resourceMetrics", []) if rec.signal == "metrics" else []:
                for sm in rm.get("scopeMetrics", []):
                    out.extend(sm.get("metrics", []))
        return out


def value(v: dict[str, Any]) -> Any:  # noqa: PLR0911
    """The Python value of an OTLP/JSON AnyValue."""
    if "stringValue" in v:
        return v["stringValue"]
    if "boolValue" in v:
        return v["boolValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        return v["doubleValue"]
    if "arrayValue" in v:
        return [value(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: value(kv.get("value", {})) for kv in v["kvlistValue"].get("values", [])}
    return None


def attrs(kvs: list[dict[str, Any]]) -> dict[str, Any]:
    return {kv["key"]: value(kv.get("value", {})) for kv in kvs}


class HangingServer:
    """Accepts TCP connections and never answers (an endpoint that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self._stop = True
        self.sock.close()
        for c in self.conns:
            c.close()


def children_of(spans: list[dict[str, Any]], parent: dict[str, Any]) -> Iterator[dict[str, Any]]:
    return (s for s in spans if s.get("parentSpanId") == parent["spanId"])
