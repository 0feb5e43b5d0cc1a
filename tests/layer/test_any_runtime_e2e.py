"""End to end in the emulator: a Node.js function (nodejs20.x, a sandbox with no Python) instrumented with the
OpenTelemetry JS SDK reports through the any-runtime layer, whose bundled CPython runs the extension; a
timeout and a crash reach the backend through the Telemetry API. The control: the Python-runtime layer on the
same sandbox fails Init with Extension.NoPython, so the run cannot be borrowing a host Python."""

from __future__ import annotations

import gzip
import os
import platform
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
FUNCTION = Path(__file__).resolve().parent / "node_function" / "index.js"
SPAN_KIND_SERVER = 2
STATUS_ERROR = 2

if shutil.which("node") is None or not (NODE_MODULES / "@opentelemetry").is_dir():
    pytest.skip(
        "Node.js or tests/node/node_modules missing (run scripts/setup-system.sh)", allow_module_level=True
    )


class Backend:
    """An OTLP/HTTP backend on 127.0.0.1:0 decoding traces with opentelemetry-proto."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.spans: list[Any] = []
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                )

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if self.path == "/v1/traces":
                    request = ExportTraceServiceRequest.FromString(body)
                    with backend.cond:
                        backend.spans += [
                            span
                            for rs in request.resource_spans
                            for ss in rs.scope_spans
                            for span in ss.spans
                        ]
                        backend.cond.notify_all()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 60.0) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        kind = kv.value.WhichOneof("value")
        value = getattr(kv.value, kind) if kind else None
        if kind == "array_value":
            value = [v.string_value for v in kv.value.array_value.values]
        out[kv.key] = value
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def any_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The any-runtime layer for this machine, from this source tree and the cached interpreter
    (built by `make venv`, or here on a first run: docs/layer.md)."""
    from zerolag.layer.anyruntime.layer import build_any_layer

    arch = {"aarch64": "arm64"}.get(platform.machine(), platform.machine())
    (zip_path,) = build_any_layer(tmp_path_factory.mktemp("any-layer"), arches=[arch])
    return zip_path


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


@pytest.fixture
def code(tmp_path: Path) -> Path:
    """The function's code: index.js, with the OpenTelemetry JS SDK as its node_modules."""
    directory = tmp_path / "code"
    directory.mkdir()
    shutil.copyfile(FUNCTION, directory / "index.js")
    # A real node_modules in the code, as in a deployment zip: a symlink to the checkout would lead out of
    # the sandbox's minimal root (docs/emulator.md, "Isolation"). Hard links where the file system allows.
    shutil.copytree(NODE_MODULES, directory / "node_modules", symlinks=True, copy_function=_link_or_copy)
    return directory


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _env(backend: Backend) -> dict[str, str]:
    port = free_port()
    return {
        "ZEROLAG_OTLP_ENDPOINT": backend.endpoint,
        "ZEROLAG_EXTENSION_PORT": str(port),
        "ZEROLAG_THUNDRA_PORT": "0",
        "ZEROLAG_FLUSH": "end",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://localhost:{port}",
        "OTEL_SERVICE_NAME": "any-runtime-e2e",
    }


def _server_spans(backend: Backend, request_id: str) -> list[Any]:
    return [
        s
        for s in backend.spans
        if s.kind == SPAN_KIND_SERVER and attrs(s).get("faas.invocation_id") == request_id
    ]


def test_node_function_reports_through_the_bundled_python_including_timeout_and_crash(
    any_layer: Path, code: Path, backend: Backend
) -> None:
    """SDK spans arrive exactly once; the timeout and the crash become error spans from platform telemetry,
    and the extension comes back (bundled Python again) after each reset."""
    with Sandbox(
        code=code,
        handler="index.handler",
        runtime="nodejs20.x",
        layers=[any_layer],
        env=_env(backend),
        timeout=2.0,
        function_name="node-any",
    ) as sb:
        assert sb.layout.python_hidden, "the sandbox must not show the host's Python"
        first = sb.invoke({"action": "ok", "name": "js-1"})
        timeout = sb.invoke({"action": "sleep", "name": "js-sleep"})
        crash = sb.invoke({"action": "crash", "name": "js-crash"})
        last = sb.invoke({"action": "ok", "name": "js-2"})
        sb.shutdown()
    assert [first.status, last.status] == ["success", "success"], (first.body[:300], last.body[:300])
    assert timeout.status == "timeout"
    assert crash.status in ("error", "failure")
    assert crash.error_type == "Runtime.ExitError"
    names = [s.name for s in backend.spans]
    assert backend.wait_for(lambda: {"js-1", "js-2"} <= {s.name for s in backend.spans}), names
    assert sorted(n for n in (s.name for s in backend.spans) if n in ("js-1", "js-2")) == ["js-1", "js-2"]

    assert backend.wait_for(lambda: bool(_server_spans(backend, timeout.request_id)))
    (timed_out,) = _server_spans(backend, timeout.request_id)
    assert timed_out.status.code == STATUS_ERROR
    assert attrs(timed_out)["error.type"] == "Sandbox.Timedout"
    assert any("about to sleep" in line for line in attrs(timed_out)["aws.lambda.last_log_lines"])

    assert backend.wait_for(lambda: bool(_server_spans(backend, crash.request_id)))
    (crashed,) = _server_spans(backend, crash.request_id)
    assert crashed.status.code == STATUS_ERROR
    assert attrs(crashed)["error.type"] == "Runtime.ExitError"
    assert any("crashing now" in line for line in attrs(crashed)["aws.lambda.last_log_lines"])

    errors = [line.text for line in sb.logs if line.source == "extension" and "Traceback" in line.text]
    assert not errors


def test_the_python_runtime_layer_on_the_same_sandbox_has_no_python(code: Path) -> None:
    """The control: without a bundled interpreter the extension finds no Python (it reports
    Extension.NoPython), so Init fails and the invocation never runs."""
    from zerolag.layer.build import build_layer_tree

    layer = build_layer_tree(code.parent / "python-layer")
    with Sandbox(
        code=code, handler="index.handler", runtime="nodejs20.x", layers=[layer], env={}, timeout=2.0
    ) as sb:
        result = sb.invoke({"action": "ok", "name": "never"})
        lines = [line.text for line in sb.logs if line.source == "extension"]
    assert result.status == "failure"
    assert (result.error_type or "").startswith("Extension.")
    assert any("no Python 3.10+ interpreter found" in line for line in lines), lines
