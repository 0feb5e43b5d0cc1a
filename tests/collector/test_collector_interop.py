"""Interop with software nobody here wrote: the official OpenTelemetry JS exporters sending straight to the
collector, and Rotel (a Rust OpenTelemetry collector) as the gateway between zerolag's extension, running in
the emulator, and the collector."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import raw_http
from collector_client import INGEST_KEY, Client

from zerolag.collector import Collector

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "tests" / "node" / "node_modules"
JS_EXPORT = Path(__file__).with_name("otel_js_export.js")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepting(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.parametrize("protocol", ["json", "proto"])
def test_the_opentelemetry_js_exporters_send_straight_to_the_collector(
    collector: Collector, protocol: str
) -> None:
    """The exporters that once got a 411 for their chunked bodies: spans (gzip), events, status, logs."""
    if shutil.which("node") is None or not (NODE_MODULES / "@opentelemetry" / "sdk-trace-base").is_dir():
        pytest.skip("node and tests/node/node_modules (scripts/setup-system.sh) are needed")
    env = dict(
        os.environ,
        NODE_PATH=str(NODE_MODULES),
        COLLECTOR_URL=collector.url,
        COLLECTOR_KEY=INGEST_KEY,
        REQUEST_ID=f"js-{protocol}",
        SPAN_NAME="GET /orders \x1b[31m",
    )
    done = subprocess.run(
        ["node", str(JS_EXPORT), protocol], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    detail = Client(collector).get_json(f"/api/invocations/js-{protocol}")
    inv = detail["invocation"]
    assert inv["function"] == "js-fn"
    assert inv["cold_start"] is True
    assert inv["trigger"] == "http"
    spans = {s["name"]: s for s in detail["spans"]}
    assert set(spans) == {"handler", "GET /orders \x1b[31m"}
    child = spans["GET /orders \x1b[31m"]
    assert child["status_code"] == 2
    assert child["status_message"] == "upstream failed"
    assert child["attributes"]["http.status_code"] == 500
    assert [e["name"] for e in child["events"]] == ["retry"]
    assert child["parent_span_id"] == spans["handler"]["span_id"]
    assert [log["body"] for log in detail["logs"]] == [f"handled js-{protocol} \U0001f600"]


@pytest.fixture
def rotel_gateway(collector: Collector, tmp_path: Path) -> Iterator[str]:
    """Rotel receiving OTLP/HTTP on a free port and exporting to the collector with the ingest key."""
    rotel = pytest.importorskip("rotel")
    agent = Path(rotel.__file__).parent / "rotel-agent"
    http_port = free_port()
    proc = subprocess.Popen(
        [
            str(agent),
            "start",
            "--otlp-http-endpoint",
            f"127.0.0.1:{http_port}",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{free_port()}",
            "--exporter",
            "otlp",
            "--otlp-exporter-endpoint",
            collector.url,
            "--otlp-exporter-protocol",
            "http",
            "--otlp-exporter-custom-headers",
            f"X-Api-Key={INGEST_KEY}",
            "--batch-timeout",
            "100ms",
            "--pid-file",
            str(tmp_path / "rotel.pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        raw_http.wait_for(lambda: accepting(http_port) or proc.poll() is not None, what="Rotel to listen")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield f"http://127.0.0.1:{http_port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.mark.e2e
def test_rotel_as_the_gateway_between_the_extension_and_the_collector(
    collector: Collector, rotel_gateway: str, tmp_path: Path
) -> None:
    """A function in the emulator, zerolag's extension exporting to Rotel, Rotel forwarding to the collector:
    every invocation arrives whole (span, platform numbers, logs)."""
    from zerolag.emulator import Sandbox
    from zerolag.layer.build import build_layer_tree

    layer = build_layer_tree(tmp_path / "layer" / "opt")
    code = tmp_path / "code"
    code.mkdir()
    (code / "app.py").write_text(
        textwrap.dedent(
            """
            def handler(event, context):
                print("through rotel", context.aws_request_id)
                return {"n": event["n"]}
            """
        )
    )
    env = {
        "ZEROLAG_OTLP_ENDPOINT": rotel_gateway,
        "ZEROLAG_EXTENSION_PORT": str(free_port()),
        "ZEROLAG_THUNDRA_PORT": str(free_port()),
        "ZEROLAG_FLUSH": "end",
    }
    with Sandbox(
        code=str(code), handler="app.handler", layers=[str(layer)], env=env, function_name="via-rotel"
    ) as sandbox:
        results = [sandbox.invoke({"n": n}) for n in range(2)]
        sandbox.shutdown()
    request_ids = {r.request_id for r in results}
    assert all(r.status == "success" for r in results)
    client = Client(collector)

    def arrived() -> bool:
        # Rotel batches each signal on its own, so the logs may come after the spans and platform metrics
        rows = client.get_json("/api/invocations?function=via-rotel")["invocations"]
        if not {r["request_id"] for r in rows if r["billed_ms"] is not None} >= request_ids:
            return False
        return all(client.get_json(f"/api/invocations/{rid}")["logs"] for rid in request_ids)

    raw_http.wait_for(arrived, timeout=60, what="both invocations through Rotel")
    for request_id in request_ids:
        detail = client.get_json(f"/api/invocations/{request_id}")
        assert detail["invocation"]["status"] == "ok"
        assert detail["invocation"]["duration_ms"] is not None
        assert detail["spans"]
        assert any("through rotel" in log["body"] for log in detail["logs"])
