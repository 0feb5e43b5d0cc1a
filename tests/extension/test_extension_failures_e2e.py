"""End to end in the emulator with a misbehaving backend: outage across 200 invocations, a hanging backend,
sends in flight at a freeze, keep-alive connections broken across a freeze, SHUTDOWN with a large buffer."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_sandbox import FUNCTIONS, OTEL_LAYER, extension_env, extension_lines, layer_dir

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e
CODE = FUNCTIONS / "otel_py"
FAST_RECOVERY = {
    "ZEROLAG_BREAKER_OPEN_MS": "200",
    "ZEROLAG_RETRY_MAX_MS": "1000",
    "ZEROLAG_SEND_TIMEOUT_MS": "1000",
}


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def sandbox(env: dict[str, str], timeout: float = 10.0) -> Sandbox:
    return Sandbox(
        code=CODE, handler="app.handler", layers=[layer_dir(), OTEL_LAYER], env=env, timeout=timeout
    )


def expected(prefix: str, invocations: int, count: int) -> set[str]:
    names = set()
    for i in range(invocations):
        names.add(f"{prefix}-{i}")
        names.update(f"{prefix}-{i}.{k}" for k in range(1, count))
    return names


def delivered(backend: Backend, prefix: str) -> Counter[str]:
    return Counter({k: v for k, v in backend.span_name_counts().items() if k.startswith(prefix)})


def assert_nothing_lost(backend: Backend, prefix: str, names: set[str], summary: dict[str, int]) -> None:
    got = delivered(backend, prefix)
    assert set(got) == names
    assert sum(got.values()) - len(names) <= summary["duplicate_risk"]


def test_outage_during_200_invocations_loses_nothing_and_empties_the_spool(
    backend: Backend, tmp_path: Path
) -> None:
    """The backend is down for invocations 50-149 of 200: memory stays under its bound, the overflow goes to
    the spool, and once the backend is back every span arrives and the spool is empty."""
    env = extension_env(backend, tmp_path, ZEROLAG_BUFFER_BYTES="65536", **FAST_RECOVERY)
    with sandbox(env) as sb:
        for i in range(200):
            if i == 50:
                backend.stop()
            if i == 150:
                backend.start()
            assert sb.invoke({"name": f"out-{i}", "count": 4, "pad": 300}).status == "success"
        sb.shutdown()
    [summary] = extension_lines(sb.logs, "shutdown")
    assert summary["spooled"] > 0
    assert summary["memory_peak_bytes"] <= summary["memory_bound_bytes"] == 65536
    assert summary["unsent_items"] == 0
    assert summary["spool_entries"] == 0
    assert summary["unspooled"] >= summary["spooled"]
    assert_nothing_lost(backend, "out-", expected("out", 200, 4), summary)


@pytest.mark.parametrize("flush", ["end", "adaptive"])
def test_hanging_backend_never_makes_an_invocation_time_out(
    backend: Backend, tmp_path: Path, flush: str
) -> None:
    """With a backend that never answers, every invocation ends well within its timeout (the flush budget and
    the breaker bound the cost), and the data arrives once the backend answers again."""
    backend.set_mode("hang")
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH=flush, **FAST_RECOVERY)
    with sandbox(env, timeout=2.0) as sb:
        for i in range(10):
            result = sb.invoke({"name": f"hang-{i}"})
            assert result.status == "success"
            assert result.post_runtime_ms < 1000  # the 200 ms budget, with room for a loaded machine
        backend.set_mode("ok")
        for i in range(10, 12):
            assert sb.invoke({"name": f"hang-{i}"}).status == "success"
        sb.shutdown()
    [summary] = extension_lines(sb.logs, "shutdown")
    assert_nothing_lost(backend, "hang-", expected("hang", 12, 1), summary)


def test_send_in_flight_at_freeze_is_not_lost(backend: Backend, tmp_path: Path) -> None:
    """continuous flush with a slow backend: sends are still in flight when the sandbox freezes after each
    invocation. Everything arrives; any resend is within the counted duplicate risk."""
    backend.set_mode("slow", delay=0.3)
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="continuous", **FAST_RECOVERY)
    with sandbox(env) as sb:
        for i in range(10):
            assert sb.invoke({"name": f"frz-{i}"}).status == "success"
        sb.shutdown()
    [summary] = extension_lines(sb.logs, "shutdown")
    assert_nothing_lost(backend, "frz-", expected("frz", 10, 1), summary)


def test_keep_alive_broken_across_a_long_freeze_is_detected_and_retried(
    backend: Backend, tmp_path: Path
) -> None:
    """The backend silently closes every connection after answering (as one does after a long freeze): the
    next send finds the connection dead, retries on a new one, and nothing is lost."""
    backend.silent_close = True
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end")
    with sandbox(env) as sb:
        for i in range(6):
            assert sb.invoke({"name": f"ka-{i}"}).status == "success"
            if i == 2:
                time.sleep(6)  # the scenario: a long freeze between two invocations
        sb.shutdown()
    [summary] = extension_lines(sb.logs, "shutdown")
    assert_nothing_lost(backend, "ka-", expected("ka", 6, 1), summary)


def test_shutdown_with_a_large_buffer_sends_all_or_reports_the_shortfall(
    backend: Backend, tmp_path: Path
) -> None:
    """Megabytes are buffered while the backend is down; at SHUTDOWN it is back but slow. Within the budget
    the extension sends what it can, and what it could not send is reported (and kept in the spool)."""
    env = extension_env(backend, tmp_path, ZEROLAG_BATCH_BYTES="65536", ZEROLAG_BREAKER_OPEN_MS="60000")
    backend.stop()
    with sandbox(env) as sb:
        for i in range(30):
            assert sb.invoke({"name": f"big-{i}", "count": 40, "pad": 2000}).status == "success"
        backend.start()
        backend.set_mode("slow", delay=0.2)
        sb.shutdown()
    [summary] = extension_lines(sb.logs, "shutdown")
    names = expected("big", 30, 40)
    got = set(delivered(backend, "big-"))
    assert got <= names
    if summary["unsent_items"] == 0:
        assert got == names
    else:
        assert summary["shutdown_unsent"] == summary["unsent_items"]
        assert len(got) + summary["unsent_items"] >= len(names)
        assert summary["spool_entries"] > 0


def test_data_sent_before_a_timeout_is_not_lost(backend: Backend, tmp_path: Path) -> None:
    """The function exports a span, then runs past its timeout: the sandbox is reset (SHUTDOWN timeout to the
    extension), and the span still reaches the backend."""
    env = extension_env(backend, tmp_path)
    with sandbox(env, timeout=1.0) as sb:
        assert sb.invoke({"name": "before-timeout"}).status == "success"
        result = sb.invoke({"name": "timing-out", "after_sleep": 3})
        assert result.status == "timeout"
        assert sb.invoke({"name": "after-reset"}).status == "success"
        sb.shutdown()
    counts = delivered(backend, "")
    assert counts["before-timeout"] == 1
    assert counts["timing-out"] == 1
    assert counts["after-reset"] == 1
