"""End-to-end helpers: an OTLP/HTTP backend on 127.0.0.1:0 that decodes with opentelemetry-proto, the built
layer, free ports and function code in a temp dir. Used by the telemetry and Thundra e2e tests."""

from __future__ import annotations

import gzip
import socket
import textwrap
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
POWERTOOLS_LAYER = REPO / ".venv" / "layers" / "powertools"
THUNDRA_LAYER = REPO / ".venv" / "layers" / "thundra"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class OtlpBackend:
    """Decodes every export request it receives; ``wait_for`` blocks on a condition, not on sleeps."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.requests: list[tuple[str, Any]] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                backend._add(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _add(self, path: str, body: bytes) -> None:
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        classes = {
            "/v1/traces": ExportTraceServiceRequest,
            "/v1/metrics": ExportMetricsServiceRequest,
            "/v1/logs": ExportLogsServiceRequest,
        }
        cls = classes.get(path)
        if cls is None:
            return
        msg = cls.FromString(body)
        with self.cond:
            self.requests.append((path, msg))
            self.cond.notify_all()

    # --- views ---------------------------------------------------------------------------------------------
    def spans(self) -> list[Any]:
        with self.cond:
            reqs = [m for p, m in self.requests if p == "/v1/traces"]
        return [s for r in reqs for rs in r.resource_spans for ss in rs.scope_spans for s in ss.spans]

    def metrics(self, name: str | None = None) -> list[tuple[Any, Any]]:
        """(resource, metric) pairs, optionally only those named ``name``."""
        with self.cond:
            reqs = [m for p, m in self.requests if p == "/v1/metrics"]
        return [
            (rm.resource, m)
            for r in reqs
            for rm in r.resource_metrics
            for sm in rm.scope_metrics
            for m in sm.metrics
            if name is None or m.name == name
        ]

    def points(self, name: str) -> list[Any]:
        out = []
        for _, m in self.metrics(name):
            kind = m.WhichOneof("data")
            out.extend(getattr(m, kind).data_points)
        return out

    def logs(self) -> list[Any]:
        with self.cond:
            reqs = [m for p, m in self.requests if p == "/v1/logs"]
        return [r for q in reqs for rl in q.resource_logs for sl in rl.scope_logs for r in sl.log_records]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
        """Block until ``predicate()`` holds (re-checked on every request received) or ``timeout``."""
        with self.cond:  # an RLock: the views may take it again inside the predicate
            return self.cond.wait_for(predicate, timeout)


@contextmanager
def otlp_backend() -> Iterator[OtlpBackend]:
    backend = OtlpBackend()
    backend.thread.start()
    try:
        yield backend
    finally:
        backend.server.shutdown()
        backend.server.server_close()


def attrs(item: Any) -> dict[str, Any]:
    """Attributes of a proto span/log/point as python values (arrays as lists)."""
    out: dict[str, Any] = {}
    for kv in item.attributes:
        out[kv.key] = any_value(kv.value)
    return out


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind) if kind else None


def write_code(directory: Path, source: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(textwrap.dedent(source), encoding="utf-8")
    return directory


def base_env(backend: OtlpBackend, **extra: str) -> dict[str, str]:
    env = {
        "ZEROLAG_OTLP_ENDPOINT": backend.endpoint,
        "ZEROLAG_EXTENSION_PORT": str(free_port()),
        "ZEROLAG_THUNDRA_PORT": str(free_port()),
        "ZEROLAG_FLUSH": "end",
    }
    env.update(extra)
    return env


OTEL_SDK_LAYER = REPO / ".venv" / "layers" / "otel-sdk"
