"""End to end in the emulator (layer + real awslambdaric): the export path under a backend's faults. An
outage that ends before a spindown, a backend refusing one request of a merged batch (400) or a batch as too
large (413), and a backend answer that used to kill a sender thread (issue 10, items 1, 2, 4 and 7)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ext_backend import Backend
from ext_helpers import traces_pb
from ext_sandbox import FUNCTIONS, OTEL_LAYER, extension_env, extension_lines, layer_dir
from test_extension_failures_e2e import assert_nothing_lost, delivered, expected

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
RAW = FUNCTIONS / "raw_py"


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def raw_event(*requests: bytes) -> dict[str, Any]:
    return {"requests": [{"signal": "traces", "hex": body.hex()} for body in requests]}


def summary_of(sb: Sandbox) -> dict[str, Any]:
    [summary] = extension_lines(sb.logs, "shutdown")
    return summary


def test_outage_recovery_then_spindown_sends_everything(backend: Backend, tmp_path: Path) -> None:
    """Issue 10 item 1: 503 for 30 invocations of an OpenTelemetry SDK function (the breaker opens, with its
    default 5 s doubling), then the backend is back for five invocations over ~3 s, then spindown. The open
    breaker must not stop the last chance: every span arrives and nothing is reported unsent."""
    backend.set_mode("status", status=503)
    env = extension_env(backend, tmp_path)
    with Sandbox(
        code=FUNCTIONS / "otel_py", handler="app.handler", layers=[layer_dir(), OTEL_LAYER], env=env
    ) as sb:
        for i in range(30):
            assert sb.invoke({"name": f"o-{i}", "count": 3}).ok
            time.sleep(0.2)  # the scenario: the outage outlasts the first 5 s breaker period (it doubles)
        backend.set_mode("ok")
        for i in range(30, 35):
            time.sleep(0.6)  # the scenario: invocations spread over ~3 s (the sandbox is frozen meanwhile)
            assert sb.invoke({"name": f"o-{i}", "count": 3}).ok
    summary = summary_of(sb)
    assert summary["flushed"] is True
    assert summary["unsent_items"] == 0
    assert_nothing_lost(backend, "o-", expected("o", 35, 3), summary)


def test_backend_refusing_one_request_of_a_batch_costs_only_that_request(
    backend: Backend, tmp_path: Path
) -> None:
    """Issue 10 item 2 (the exit half): three requests in one batch (ZEROLAG_FLUSH=end), the middle one
    refused by the backend with 400. The batch is split; the good requests arrive, the bad one is counted as
    dropped_refused and logged with the backend's reason."""
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end")
    with Sandbox(code=RAW, handler="app.handler", layers=[layer_dir()], env=env) as sb:
        event = raw_event(traces_pb(["good-1", "good-2"]), traces_pb(["poison-1"]), traces_pb(["good-3"]))
        result = sb.invoke(event)
        assert result.ok
        assert result.json() == {"statuses": [200, 200, 200]}
        assert sb.invoke(raw_event(traces_pb(["good-4"]))).ok
    summary = summary_of(sb)
    assert dict(delivered(backend, "good-")) == {f"good-{i}": 1 for i in range(1, 5)}
    assert "poison-1" not in backend.span_name_counts()
    assert summary["dropped_refused"] == 1
    assert summary["dropped"] == 1
    refusals = [e for e in extension_lines(sb.logs) if "refused" in str(e.get("message", ""))]
    assert refusals
    assert "span name rejected by policy" in str(refusals[0])


def test_batch_refused_as_too_large_is_split_not_dropped(backend: Backend, tmp_path: Path) -> None:
    """Issue 10 item 7: the backend takes at most 40 KB per request; eight ~12 KB requests merged into one
    batch are refused with 413. The batch is split until each part is accepted: nothing is dropped."""
    backend.max_body = 40_000
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end")
    names = [[f"big-{r}-{k}" + "x" * 1000 for k in range(12)] for r in range(8)]
    with Sandbox(code=RAW, handler="app.handler", layers=[layer_dir()], env=env) as sb:
        assert sb.invoke(raw_event(*(traces_pb(n) for n in names))).ok
        assert sb.invoke(raw_event(traces_pb(["after"]))).ok
    summary = summary_of(sb)
    assert any(status == 413 for status, _ in backend.refused)
    counts = delivered(backend, "")
    assert {name: counts[name] for group in names for name in group} == {
        name: 1 for group in names for name in group
    }
    assert counts["after"] == 1
    assert summary["dropped"] == 0


def test_a_backend_answer_that_breaks_the_sender_loses_nothing(backend: Backend, tmp_path: Path) -> None:
    """Issue 10 item 4 (the sender half): a 503 whose Retry-After is a latin-1 digit that is not ASCII
    ('²') used to raise inside a sender thread and kill it, its batch left in flight forever. Senders must
    survive: once the backend answers, everything arrives and SHUTDOWN reports nothing unsent."""
    backend.set_mode("status", status=503, retry_after="\u00b2")
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end", ZEROLAG_BREAKER_OPEN_MS="100")
    with Sandbox(code=RAW, handler="app.handler", layers=[layer_dir()], env=env) as sb:
        for i in range(6):
            assert sb.invoke(raw_event(traces_pb([f"ra-{i}"]))).ok
        backend.set_mode("ok")
        for i in range(6, 8):
            assert sb.invoke(raw_event(traces_pb([f"ra-{i}"]))).ok
    summary = summary_of(sb)
    assert summary["unsent_items"] == 0
    assert_nothing_lost(backend, "ra-", expected("ra", 8, 1), summary)
