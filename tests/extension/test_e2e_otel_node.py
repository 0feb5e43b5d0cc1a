"""End to end in the emulator: the unmodified OpenTelemetry JS SDK (from npm) in a Node.js custom runtime
exports traces, metrics and logs over OTLP/HTTP, JSON and protobuf, to the extension; every item reaches the
backend exactly once."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_sandbox import ROOT, extension_env, extension_lines, layer_dir

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
NODE_DIR = ROOT / "tests" / "node"

if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "@opentelemetry").is_dir():
    pytest.skip(
        "Node.js or tests/node/node_modules missing (run scripts/setup-system.sh)", allow_module_level=True
    )


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


@pytest.mark.parametrize("encoding", ["json", "protobuf"])
def test_js_sdk_spans_metrics_and_logs_arrive_exactly_once(
    backend: Backend, tmp_path: Path, encoding: str
) -> None:
    """10 invocations of a Node.js function: 10 spans, 10 log records, counter points 1..10, each once."""
    n = 10
    env = extension_env(backend, tmp_path, OTLP_ENCODING=encoding)
    with Sandbox(code=NODE_DIR, handler="unused", runtime="provided", layers=[layer_dir()], env=env) as sb:
        for i in range(n):
            assert sb.invoke({"name": f"js-{i}"}).status == "success"
        sb.shutdown()
    spans = Counter({k: v for k, v in backend.span_name_counts().items() if k.startswith("js-")})
    assert spans == Counter({f"js-{i}": 1 for i in range(n)})
    bodies = Counter(r.get("body", {}).get("stringValue", "") for r in backend.log_records())
    assert {k: v for k, v in bodies.items() if k.startswith("log-js-")} == {
        f"log-js-{i}": 1 for i in range(n)
    }
    points = [
        p["asDouble"] if "asDouble" in p else p["asInt"]
        for m in backend.metrics()
        if m["name"] == "e2e.js.invocations"
        for p in m["sum"]["dataPoints"]
    ]
    assert sorted(points) == list(range(1, n + 1))
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["rejected"] == 0
