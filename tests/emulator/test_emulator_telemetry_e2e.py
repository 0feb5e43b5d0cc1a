"""Telemetry API and Logs API end to end: plain-script extensions in a real sandbox running awslambdaric."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

HANDLER = """
import logging

def handler(event, context):
    logging.getLogger().warning("warned %s", 1)
    print("printed", flush=True)
    return {"ok": True}
"""

# A stdlib-only extension: subscribes as SUBSCRIPTION says (API path, schema, types) and prints what it gets
# *before* acknowledging, so the sandbox's log holds every delivered event once the delivery succeeded.
EXTENSION = r"""#!/usr/bin/env python3
import json, os, sys, threading, urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"]
NAME = os.path.basename(__file__)
SUB_PATH, SCHEMA, TYPES = {SUBSCRIPTION}

def call(method, path, body=None, headers=None):
    req = urllib.request.Request(API + path, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req) as resp:
        return resp.status, dict(resp.headers), resp.read()

class Listener(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        for item in json.loads(body):
            sys.stdout.write(json.dumps({"got": item}) + "\n")
        sys.stdout.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_PUT = do_POST
    def log_message(self, *args):
        pass

_, headers, _ = call("POST", "/2020-01-01/extension/register", json.dumps({"events": ["SHUTDOWN"]}).encode(),
                     {"Lambda-Extension-Name": NAME})
ext_id = headers["Lambda-Extension-Identifier"]
server = HTTPServer(("sandbox.localdomain", 0), Listener)
threading.Thread(target=server.serve_forever, daemon=True).start()
uri = "http://sandbox.localdomain:%d/" % server.server_address[1]
sub = {"types": TYPES, "buffering": {"timeoutMs": 25}, "destination": {"protocol": "HTTP", "URI": uri}}
if SCHEMA:
    sub["schemaVersion"] = SCHEMA
status, _, reply = call("PUT", SUB_PATH, json.dumps(sub).encode(), {"Lambda-Extension-Identifier": ext_id})
print(json.dumps({"subscribed": status, "reply": reply.decode()}), flush=True)
while True:
    _, _, raw = call("GET", "/2020-01-01/extension/event/next", None, {"Lambda-Extension-Identifier": ext_id})
    if json.loads(raw)["eventType"] == "SHUTDOWN":
        sys.exit(0)
"""


def make_extension(layer: Path, name: str, path: str, schema: str | None, types: list[str]) -> None:
    ext_dir = layer / "extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    script = ext_dir / name
    script.write_text(EXTENSION.replace("{SUBSCRIPTION}", repr((path, schema, types))))
    script.chmod(0o755)


def received(logs: list[Any], name: str) -> list[dict[str, Any]]:
    """Events an extension printed, in order."""
    out = []
    for line in logs:
        if line.source == "extension" and line.name == name and line.text.startswith('{"got"'):
            out.append(json.loads(line.text)["got"])
    return out


def test_logs_and_telemetry_subscribers_in_a_real_sandbox(tmp_path: Path) -> None:
    """A Logs API 2021-03-18 and a Telemetry API 2022-12-13 subscriber each get their API's shapes,
    with JSON log format objects for the telemetry one and the report's metrics for both."""
    from zerolag.emulator import Sandbox

    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(textwrap.dedent(HANDLER))
    layer = tmp_path / "layer"
    make_extension(layer, "a-logs", "/2020-08-15/logs", "2021-03-18", ["platform", "function"])
    make_extension(layer, "b-telemetry", "/2022-07-01/telemetry", "2022-12-13", ["platform", "function"])
    with Sandbox(
        code=code, handler="app.handler", layers=[layer], env={"AWS_LAMBDA_LOG_FORMAT": "JSON"}
    ) as sb:
        result = sb.invoke({"x": 1})
        assert result.status == "success"
        sb.shutdown()
        logs = list(sb.logs)
    rid = result.request_id
    subscribed = [json.loads(x.text) for x in logs if x.source == "extension" and '"subscribed"' in x.text]
    assert subscribed == [{"subscribed": 200, "reply": '"OK"'}] * 2

    old = received(logs, "a-logs")
    kinds = [e["type"] for e in old]
    assert "platform.logsSubscription" in kinds
    assert not any(k.startswith("platform.init") for k in kinds)
    invoke = [e for e in old if e["type"] != "function" and isinstance(e["record"], dict)]
    by_type = {e["type"]: e["record"] for e in invoke}
    assert by_type["platform.start"]["requestId"] == rid
    assert by_type["platform.runtimeDone"] == {"requestId": rid, "status": "success"}
    assert by_type["platform.end"] == {"requestId": rid}
    assert set(by_type["platform.report"]) == {"requestId", "metrics"}
    assert by_type["platform.report"]["metrics"]["maxMemoryUsedMB"] > 0
    assert kinds.index("platform.start") < kinds.index("platform.end") < kinds.index("platform.report")
    assert all(isinstance(e["record"], str) for e in old if e["type"] == "function")
    assert any("warned 1" in e["record"] for e in old if e["type"] == "function")

    new = received(logs, "b-telemetry")
    kinds = [e["type"] for e in new]
    assert kinds[0] == "platform.initStart"
    assert "platform.telemetrySubscription" in kinds
    functions = [e["record"] for e in new if e["type"] == "function"]
    assert all(isinstance(r, dict) for r in functions)
    warned = next(r for r in functions if r.get("message") == "warned 1")
    assert (warned["level"], warned["requestId"]) == ("WARNING", rid)
    assert any(r.get("message") == "printed" and r.get("requestId") == rid for r in functions)
    report = next(e["record"] for e in new if e["type"] == "platform.report")
    assert report["requestId"] == rid
    assert report["metrics"]["maxMemoryUsedMB"] > 0
