"""End to end in the emulator with the real awslambdaric: the unmodified OpenTelemetry Python SDK exports
over OTLP/HTTP protobuf to the extension, which forwards to a real backend on loopback."""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_sandbox import FUNCTIONS, OTEL_LAYER, extension_env, extension_lines, layer_dir

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
CODE = FUNCTIONS / "otel_py"


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def sandbox(env: dict[str, str], timeout: float = 10.0) -> Sandbox:
    return Sandbox(
        code=CODE, handler="app.handler", layers=[layer_dir(), OTEL_LAYER], env=env, timeout=timeout
    )


def my_spans(backend: Backend, prefix: str) -> Counter[str]:
    return Counter({k: v for k, v in backend.span_name_counts().items() if k.startswith(prefix)})


def log_bodies(backend: Backend, prefix: str) -> Counter[str]:
    bodies = (r.get("body", {}).get("stringValue", "") for r in backend.log_records())
    return Counter(b for b in bodies if b.startswith(prefix))


def counter_points(backend: Backend) -> list[int]:
    return [
        p["asInt"]
        for m in backend.metrics()
        if m["name"] == "e2e.invocations"
        for p in m["sum"]["dataPoints"]
    ]


@pytest.mark.parametrize("flush", ["adaptive", "end", "continuous", "periodic,100"])
def test_every_span_metric_and_log_arrives_exactly_once(backend: Backend, tmp_path: Path, flush: str) -> None:
    """20 invocations, each one span, one log record and one counter export through the SDK's own exporters:
    each arrives at the backend exactly once, whatever the flush strategy."""
    n = 20
    with sandbox(extension_env(backend, tmp_path, ZEROLAG_FLUSH=flush)) as sb:
        for i in range(n):
            assert sb.invoke({"name": f"inv-{i}"}).status == "success"
        sb.shutdown()
    assert my_spans(backend, "inv-") == Counter({f"inv-{i}": 1 for i in range(n)})
    assert log_bodies(backend, "log-inv-") == Counter({f"log-inv-{i}": 1 for i in range(n)})
    assert sorted(counter_points(backend)) == list(range(1, n + 1))
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["unsent_items"] == 0
    assert summary["duplicate_risk"] == 0
    assert summary["sent"] == summary["received"]


def test_without_an_end_signal_data_still_arrives_exactly_once(backend: Backend, tmp_path: Path) -> None:
    """With the Telemetry API plugin off (no runtimeDone), the extension returns to /next at once and sends in
    the background; SHUTDOWN sends the rest: nothing lost, nothing doubled."""
    env = extension_env(backend, tmp_path, ZEROLAG_TELEMETRY="false")
    with sandbox(env) as sb:
        for i in range(10):
            assert sb.invoke({"name": f"bg-{i}"}).status == "success"
        sb.shutdown()
    assert my_spans(backend, "bg-") == Counter({f"bg-{i}": 1 for i in range(10)})


def test_self_telemetry_is_exported_as_metrics_and_logged_as_json(backend: Backend, tmp_path: Path) -> None:
    """The extension's counters reach the backend as zerolag.extension.* metrics and appear in its JSON
    log."""
    with sandbox(extension_env(backend, tmp_path)) as sb:
        sb.invoke({"name": "self-0"})
        sb.shutdown()
    names = {m["name"] for m in backend.metrics()}
    assert {"zerolag.extension.received", "zerolag.extension.sent"} <= names
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["received"] >= 3
    assert summary["level"] == "INFO"


def test_invalid_configuration_fails_init_naming_the_variable(tmp_path: Path) -> None:
    """An invalid value is an /extension/init/error whose message names the variable."""
    env = extension_env(None, tmp_path, ZEROLAG_FLUSH="sometimes")
    with sandbox(env) as sb:
        outcome = sb.last_init
        assert outcome is not None
        assert outcome.status != "success"
        ext = [e["record"] for e in sb.telemetry if e["type"] == "platform.extension"]
        assert ext[-1]["errorType"] == "Extension.ConfigError"  # type: ignore[index]
        [line] = extension_lines(sb.logs)
        assert line["message"].startswith("ZEROLAG_FLUSH:")


def test_api_key_is_never_logged(backend: Backend, tmp_path: Path) -> None:
    """The backend headers (an API key) reach the backend but never the extension's logs."""
    secret = "sk-live-0123456789abcdef"
    env = extension_env(
        backend, tmp_path, ZEROLAG_OTLP_HEADERS=f"x-api-key={secret}", ZEROLAG_LOG_LEVEL="debug"
    )
    with sandbox(env) as sb:
        sb.invoke({"name": "key-0"})
        sb.shutdown()
    assert any(h.get("x-api-key") == secret for _, _, h in backend.requests)
    assert all(secret not in line.text for line in sb.logs)


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ("x-api-key=cl%C3%A9-secr%C3%A8te-%E2%82%AC", "latin-1"),  # ends in a euro sign
        ("x-api-key=first%0Asecond-secret", "line break"),
        ("x-api-key=nul%00secret-secret", "control character"),
    ],
)
def test_an_unsendable_header_value_fails_init_naming_the_variable_not_the_value(
    tmp_path: Path, headers: str, why: str
) -> None:
    """A header value http.client cannot send would kill every send; it is an init error naming
    ZEROLAG_OTLP_HEADERS and the header, never the value."""
    env = extension_env(None, tmp_path, ZEROLAG_OTLP_HEADERS=headers)
    env["ZEROLAG_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
    with sandbox(env) as sb:
        outcome = sb.last_init
        assert outcome is not None
        assert outcome.status != "success"
        [line] = extension_lines(sb.logs)
        assert line["message"].startswith("ZEROLAG_OTLP_HEADERS:")
        assert "x-api-key" in line["message"]
        assert why in line["message"]
        assert all("secr" not in entry.text for entry in sb.logs)


def test_credentials_in_the_endpoint_are_sent_as_basic_auth_and_never_shown(
    backend: Backend, tmp_path: Path
) -> None:
    """``user:password@`` in the endpoint is sent as Basic auth; an invalid such endpoint is an init error
    showing the URL with ``***@``."""
    url = backend.endpoint.replace("http://", "http://alice:hunter2pass@")
    with sandbox(extension_env(backend, tmp_path, ZEROLAG_OTLP_ENDPOINT=url)) as sb:
        sb.invoke({"name": "auth-0"})
        sb.shutdown()
    assert backend.span_name_counts()["auth-0"] == 1
    auths = {h.get("authorization") for _, _, h in backend.requests}
    assert auths == {"Basic " + base64.b64encode(b"alice:hunter2pass").decode()}
    assert all("hunter2pass" not in entry.text for entry in sb.logs)
    bad = "http://alice:hunter2pass@127.0.0.1:notaport"
    with sandbox(extension_env(None, tmp_path, ZEROLAG_OTLP_ENDPOINT=bad)) as sb:
        [line] = extension_lines(sb.logs)
        assert line["message"].startswith("ZEROLAG_OTLP_ENDPOINT:")
        assert "***@127.0.0.1" in line["message"]
        assert all("hunter2pass" not in entry.text for entry in sb.logs)
