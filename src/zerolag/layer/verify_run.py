"""Run a layer in the emulator with a tiny handler and report what happened, one ``Check`` per step.

The handler posts one span as OTLP/JSON to the extension's loopback receiver, and a throwaway OTLP sink on
loopback stands in for the backend, so the run proves the whole path: the launcher finds python, the extension
registers and receives, the invocation succeeds, and SHUTDOWN flushes the span out.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from zerolag.layer.build import WRAPPER
from zerolag.layer.report import Check

VERIFY_SPAN_NAME = "zerolag-verify-receiver"
AGENT_SPAN_NAME = "zerolag-verify-agent"
FUNCTION_NAME = "zerolag-layer-verify"
HANDLER_SOURCE = f'''
import json, os, urllib.request

try:  # the agent, from the layer's python/ (on sys.path as /opt/python)
    from zerolag.agent import span
except ImportError:
    span = None

SPAN = {{"resourceSpans": [{{"resource": {{"attributes": []}}, "scopeSpans": [{{"scope": {{"name": "verify"}},
    "spans": [{{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
    "name": "{VERIFY_SPAN_NAME}", "kind": 2, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}}]}}]}}]}}


def handler(event, context):
    if span is not None:
        with span("{AGENT_SPAN_NAME}"):
            pass
    # What any OpenTelemetry SDK does: OTLP/JSON to the extension's loopback receiver.
    port = os.environ.get("ZEROLAG_EXTENSION_PORT", "4318")
    request = urllib.request.Request(
        f"http://127.0.0.1:{{port}}/v1/traces", data=json.dumps(SPAN).encode(),
        headers={{"Content-Type": "application/json"}})
    with urllib.request.urlopen(request, timeout=5) as reply:
        status = reply.status
    return {{"echo": event, "receiver_status": status, "agent": span is not None}}
'''


# The same for a Node.js function (the any-runtime layer's run: a sandbox without Python).
NODE_HANDLER_SOURCE = f"""
const http = require('http');
const SPAN = JSON.stringify({{resourceSpans: [{{resource: {{attributes: []}},
  scopeSpans: [{{scope: {{name: 'verify'}},
  spans: [{{traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331',
  name: '{VERIFY_SPAN_NAME}', kind: 2, startTimeUnixNano: '1', endTimeUnixNano: '2'}}]}}]}}]}});
exports.handler = (event) => new Promise((resolve, reject) => {{
  const port = process.env.ZEROLAG_EXTENSION_PORT || 4318;
  const headers = {{'Content-Type': 'application/json'}};
  const options = {{host: '127.0.0.1', port, method: 'POST', path: '/v1/traces', headers}};
  const req = http.request(options, (res) => {{
    res.resume();
    res.on('end', () => resolve({{echo: event, receiver_status: res.statusCode, agent: false}}));
  }});
  req.on('error', reject);
  req.end(SPAN);
}});
"""


def free_port() -> int:
    """A port free on loopback now (for the extension's listeners, which must not collide with others')."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SinkHandler)
        self.bodies: list[tuple[str, bytes]] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _SinkHandler(BaseHTTPRequestHandler):
    server: _Sink
    protocol_version = "HTTP/1.1"  # keep-alive, as real backends do

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            import gzip

            body = gzip.decompress(body)
        with self.server.lock:
            self.server.bodies.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type") or "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def otlp_sink() -> Iterator[_Sink]:
    """An OTLP/HTTP backend on 127.0.0.1 that accepts and keeps everything."""
    sink = _Sink()
    thread = threading.Thread(target=sink.serve_forever, name="zerolag-verify-sink", daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        sink.shutdown()
        sink.server_close()


def _extension_states(telemetry: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        event.get("record") or {}
        for event in telemetry
        if event.get("type") == "platform.extension" and (event.get("record") or {}).get("name") == "zerolag"
    ]


def _invoke_checks(result: Any, kind: str, *, python: bool = True) -> list[Check]:
    try:
        body = result.json()
    except ValueError:
        body = None
    detail = f"status {result.status}, {result.duration_ms:.1f} ms"
    ok = result.status == "success" and isinstance(body, dict) and body.get("echo") == {"verify": True}
    checks = [Check(f"{kind} invocation succeeds", ok, detail if ok else f"{detail}: {result.body[:300]!r}")]
    receiver = body.get("receiver_status") if isinstance(body, dict) else None
    checks.append(Check(f"{kind}: extension receiver accepts OTLP", receiver == 200, f"HTTP {receiver}"))
    if python:
        agent = isinstance(body, dict) and body.get("agent") is True
        checks.append(Check(f"{kind}: agent importable from /opt/python", agent))
    return checks


def _has_wrapper(zip_path: Path) -> bool:
    import zipfile

    with zipfile.ZipFile(zip_path) as archive:
        return WRAPPER.as_posix() in archive.namelist()


def _run(zip_path: Path, code_dir: Path, sink: _Sink, timeout: float, runtime: str) -> list[Check]:
    from zerolag.emulator import Sandbox

    python = runtime.startswith("python")
    env = {
        "ZEROLAG_OTLP_ENDPOINT": sink.endpoint,
        "ZEROLAG_EXTENSION_PORT": str(free_port()),
        "ZEROLAG_THUNDRA_PORT": str(free_port()),
    }
    wrapper = _has_wrapper(zip_path) and python
    if wrapper:
        env["AWS_LAMBDA_EXEC_WRAPPER"] = f"/opt/{WRAPPER.as_posix()}"
    sandbox = Sandbox(
        code=str(code_dir),
        handler="app.handler",
        layers=[str(zip_path)],
        env=env,
        timeout=timeout,
        function_name=FUNCTION_NAME,
        runtime=runtime,
    )
    with sandbox as sb:
        cold = sb.invoke({"verify": True})
        checks = [] if python else [_no_python_check(sb)]
        checks.append(
            Check("extension registers", bool(_extension_states(sb.telemetry)), "platform.extension")
        )
        checks.extend(_invoke_checks(cold, "cold", python=python))
        checks.extend(_invoke_checks(sb.invoke({"verify": True}), "warm", python=python))
        sb.shutdown()
        lines = [_extension_record(line) for line in sb.logs if line.source == "extension"]
    checks.append(_shutdown_check(lines))
    with sink.lock:
        sent = [body for path, body in sink.bodies if path == "/v1/traces"]
    flushed = any(VERIFY_SPAN_NAME.encode() in body for body in sent)
    checks.append(Check("span forwarded to the backend", flushed, f"{len(sent)} trace batches"))
    if python:
        agent_spans = sum(body.count(AGENT_SPAN_NAME.encode()) for body in sent)
        how = "through the exec wrapper" if wrapper else "no exec wrapper in the layer"
        checks.append(Check("agent spans forwarded", agent_spans > 0, f"{agent_spans} of 2, {how}"))
    return checks


def _no_python_check(sb: Any) -> Check:
    """On a runtime without Python the sandbox must hide the host's, or the run proves nothing."""
    hidden = bool(getattr(sb.layout, "python_hidden", False))
    detail = "host Python masked" if hidden else "no mount namespace: the host's Python is visible"
    return Check(f"{sb.cfg.runtime} sandbox has no Python but the layer's", hidden, detail)


def _extension_record(line: Any) -> dict[str, Any]:
    try:
        record = json.loads(line.text)
    except ValueError:
        return {"level": "ERROR" if "Traceback" in line.text else "INFO", "message": line.text}
    return record if isinstance(record, dict) else {"message": line.text}


def _shutdown_check(records: list[dict[str, Any]]) -> Check:
    """Clean: the extension logged its shutdown with everything flushed, and logged no error."""
    errors = [
        str(r.get("message")) for r in records if str(r.get("level", "")).upper() in {"ERROR", "CRITICAL"}
    ]
    if errors:
        return Check("SHUTDOWN is clean", False, "; ".join(errors[:3]))
    done = [r for r in records if r.get("message") == "shutdown"]
    if not done:
        return Check("SHUTDOWN is clean", False, "the extension logged no shutdown record")
    last = done[-1]
    ok = last.get("flushed") is True and not last.get("unsent_items")
    return Check("SHUTDOWN is clean", ok, f"reason {last.get('reason')}, unsent {last.get('unsent_items')}")


def run_checks(
    zip_path: Path, work_dir: Path, *, timeout: float = 3.0, runtime: str | None = None
) -> list[Check]:
    """Run ``zip_path`` in the emulator with the tiny handler on ``runtime`` (python3.x, default: the
    emulator's own version; or nodejs20.x for the any-runtime layer); never raises, failures are checks."""
    if runtime is None:
        from zerolag.emulator.runtimes import default_runtime

        runtime = default_runtime()
    code_dir = work_dir / "code"
    code_dir.mkdir()
    if runtime.startswith("nodejs"):
        import shutil

        if shutil.which("node") is None:
            return [Check(f"{runtime} run", False, "Node.js (node on PATH) is needed to run the layer on it")]
        (code_dir / "app.js").write_text(NODE_HANDLER_SOURCE, encoding="utf-8")
    else:
        (code_dir / "app.py").write_text(HANDLER_SOURCE, encoding="utf-8")
    try:
        import zerolag.emulator  # noqa: F401
    except ImportError as exc:
        return [Check("emulator available", False, str(exc))]
    with otlp_sink() as sink:
        try:
            return _run(zip_path, code_dir, sink, timeout, runtime)
        except Exception as exc:  # a crash in the run is a failed check, reported with its cause
            return [Check("runs in the emulator", False, f"{type(exc).__name__}: {exc}")]
