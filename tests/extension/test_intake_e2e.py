"""End to end in the emulator (layer + real awslambdaric): what a function sends to the extension's receivers
is checked at the door. Bad OTLP requests get 400 (so the function's SDK sees it) and never join a batch
with good ones; a Thundra POST keeps its valid records when others are broken; four maximum-size JSON
requests at once leave the extension's memory bounded (refused with 503 + Retry-After rather than grown)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ext_backend import Backend
from ext_sandbox import FUNCTIONS, extension_env, extension_lines, free_port, layer_dir

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
CODE = FUNCTIONS / "poster"
PB = "application/x-protobuf"
MIB = 1024 * 1024


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def sandbox(env: dict[str, str], memory_mb: int = 256, timeout: float = 30.0) -> Sandbox:
    return Sandbox(
        code=CODE, handler="app.handler", layers=[layer_dir()], env=env, timeout=timeout, memory_mb=memory_mb
    )


def post(path: str, content_type: str, body: bytes) -> dict[str, str]:
    return {"path": path, "content_type": content_type, "body_b64": base64.b64encode(body).decode()}


def field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field (lengths under 128), to build what an encoder would refuse."""
    return bytes([number << 3 | 2, len(value)]) + value


def traces(name: bytes, trace_id: bytes = b"\x01" * 16) -> bytes:
    span = field(1, trace_id) + field(2, b"\x02" * 8) + field(5, name)
    return field(1, field(2, field(2, span)))


def deep_json(levels: int) -> bytes:
    value: dict[str, Any] = {"stringValue": "leaf"}
    for _ in range(levels):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    span = {"name": "door-deep", "attributes": [{"key": "a", "value": value}]}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def statuses(result: Any) -> list[int | None]:
    assert result.status == "success", result.body
    return [a["status"] for a in result.json()["answers"]]


def test_a_bad_request_is_refused_at_the_door_and_never_costs_the_good_ones(
    backend: Backend, tmp_path: Path
) -> None:
    """good, not-UTF-8 name, good, 15-byte trace id, nesting 100 deep (JSON), good: the bad ones get 400
    one by one, the good ones 200, and with one batch per invocation every good span arrives."""
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end")
    port = int(env["ZEROLAG_EXTENSION_PORT"])
    requests = [
        post("/v1/traces", PB, traces(b"door-good-1")),
        post("/v1/traces", PB, traces(b"door-\xff\xfe-bad")),
        post("/v1/traces", PB, traces(b"door-good-2")),
        post("/v1/traces", PB, traces(b"door-short-id", trace_id=b"\x01" * 15)),
        post("/v1/traces", "application/json", deep_json(100)),
        post("/v1/traces", PB, traces(b"door-good-3")),
    ]
    with sandbox(env) as sb:
        result = sb.invoke({"port": port, "requests": requests})
        sb.shutdown()
    assert statuses(result) == [200, 400, 200, 400, 400, 200]
    got = backend.span_name_counts()
    assert {k: v for k, v in got.items() if k.startswith("door-")} == {
        "door-good-1": 1,
        "door-good-2": 1,
        "door-good-3": 1,
    }
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["rejected"] == 3
    assert summary["dropped"] == 0


def thundra_body() -> bytes:
    tags: dict[str, Any] = {"leaf": 1}
    for _ in range(100):
        tags = {"nested": tags}

    def log(message: str, stamp: float) -> dict[str, Any]:
        return {
            "type": "Log",
            "data": {
                "type": "Log",
                "id": message,
                "logMessage": message,
                "logLevel": "INFO",
                "logTimestamp": stamp,
                "traceId": "0b5e7c1a-4f1e-4a7b-9a50-6f0d6c7e2d11",
                "spanId": "5a1f3c2e-0d4b-4e8f-9b6a-1c2d3e4f5a6b",
                "tags": {"aws.lambda.invocation.request_id": "rid-1"},
            },
        }

    deep_span = {
        "type": "Span",
        "data": {
            "type": "Span",
            "id": "c3b2a1d0-0000-4000-8000-000000000001",
            "traceId": "0b5e7c1a-4f1e-4a7b-9a50-6f0d6c7e2d11",
            "operationName": "thundra-deep",
            "startTimestamp": 1700000000000,
            "finishTimestamp": 1700000000005,
            "tags": tags,
        },
    }
    records = [
        log("thundra-good-1", 1700000000000),
        log("thundra-huge-ts", 1e30),
        log("thundra-negative-ts", -1),
        deep_span,
        log("thundra-good-2", 1700000000001.5),
    ]
    return json.dumps(records).encode()


def test_thundra_keeps_the_valid_records_of_a_post_with_broken_ones(backend: Backend, tmp_path: Path) -> None:
    """Timestamps 1e30 and -1 and tags nested 100 deep: those records are dropped and counted one by one,
    the POST gets 200 (never 500), and its valid log records reach the backend."""
    thundra_port = free_port()
    env = extension_env(backend, tmp_path, ZEROLAG_THUNDRA_PORT=str(thundra_port), ZEROLAG_FLUSH="end")
    requests = [post("/v1/monitoring-data", "application/json", thundra_body())]
    with sandbox(env) as sb:
        result = sb.invoke({"port": thundra_port, "requests": requests})
        sb.shutdown()
    assert statuses(result) == [200]
    bodies = [r.get("body", {}).get("stringValue") for r in backend.log_records()]
    assert sorted(b for b in bodies if b and b.startswith("thundra-")) == ["thundra-good-1", "thundra-good-2"]
    assert not [s for s in backend.spans() if s.get("name") == "thundra-deep"]
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["thundra_invalid_records"] == 3


def test_four_maximum_size_json_requests_at_once_keep_memory_bounded(
    backend: Backend, tmp_path: Path
) -> None:
    """Four ~16 MiB OTLP/JSON requests from four threads at once: the extension's peak RSS stays within
    64 MiB of its idle RSS; each request is either accepted (and all its spans delivered) or refused with a
    retryable 503 carrying Retry-After (after its body was read, so the client sees the answer, not a
    reset); at least one is accepted."""
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end")
    port = int(env["ZEROLAG_EXTENSION_PORT"])
    size = 16 * MIB - 4096
    big = {"path": "/v1/traces", "content_type": "application/json", "generate": {"size": size}}
    with sandbox(env, memory_mb=1536, timeout=120.0) as sb:
        idle = sb.invoke({"port": port, "requests": [], "measure": True}).json()["extension_rss_kib"]
        result = sb.invoke({"port": port, "requests": [big] * 4, "parallel": True})
        # measured one invocation later: the accepted data has been stored by then
        peak = sb.invoke({"port": port, "requests": [], "measure": True}).json()["extension_peak_rss_kib"]
        sb.shutdown()
    answers = result.json()["answers"]
    assert idle is not None
    assert peak is not None
    assert (peak - idle) * 1024 <= 64 * MIB, (idle, peak, answers)
    assert (peak - idle) * 1024 >= 12 * MIB, (idle, peak, answers)  # it held a ~16 MiB body: right process
    accepted = [a for a in answers if a["status"] == 200]
    assert accepted
    assert all(a["status"] == 200 or (a["status"] == 503 and a["retry_after"]) for a in answers), answers
    print(f"extension RSS idle {idle} KiB, peak {peak} KiB; answers {answers}")
