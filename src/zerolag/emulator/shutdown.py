"""Ending a generation (spindown, or a reset after timeout/failure), contract section 2, Shutdown budget:
SIGTERM to the runtime (its share: 300 ms, 500 with an internal extension), pending telemetry flushed,
SHUTDOWN(reason) to the subscribed external extensions, SIGKILL for unsubscribed ones at once and for
everything left at the deadline."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
from dataclasses import dataclass

from zerolag import lambda_wire as wire
from zerolag.emulator.generation import Generation

FLUSH_SHARE = 0.5  # of the time left after the runtime, spent delivering pending telemetry


def budget_ms(gen: Generation) -> int:
    exts = gen.core.registry.all()
    if any(p.kind == "extension" for p in gen.procs) or any(not e.internal for e in exts):
        return wire.SHUTDOWN_BUDGET_EXTERNAL_MS
    if any(e.internal for e in exts):
        return wire.SHUTDOWN_BUDGET_INTERNAL_MS
    return wire.SHUTDOWN_BUDGET_NO_EXTENSIONS_MS


def runtime_share_ms(gen: Generation) -> int:
    return 500 if any(e.internal for e in gen.core.registry.all()) else wire.RUNTIME_SHUTDOWN_SHARE_MS


@dataclass(frozen=True)
class ShutdownReport:
    """How a shutdown went: its reason, how long it took, and the extensions killed at the deadline because
    they had not exited after SHUTDOWN (each also gets a platform log line)."""

    reason: str
    duration_ms: float
    killed_extensions: tuple[str, ...]


def killed_line(name: str, budget_ms: int) -> str:
    """The platform line for an extension still running at the shutdown deadline."""
    return (
        f"SHUTDOWN\tExtension: {name}\tState: Killed\tReason: did not exit within the {budget_ms} ms deadline"
    )


def shutdown(gen: Generation, reason: str) -> ShutdownReport:
    """Run the shutdown sequence; every process of the generation is gone when this returns."""
    core = gen.core
    start = time.monotonic()
    budget = budget_ms(gen) / 1000.0
    deadline = start + budget
    rt = gen.runtime
    if rt is not None and rt.alive():
        if budget == 0:
            rt.kill()
        else:
            rt.signal(signal.SIGTERM)
            share = start + min(budget, runtime_share_ms(gen) / 1000.0)
            core.wait_until(lambda: core.runtime_exit is not None, share)
            rt.kill()
    left = deadline - time.monotonic()
    if left > 0:
        gen.hub.flush(left * FLUSH_SHARE)
    wall_deadline_ms = int(gen.ctx.clock.wall(deadline) * 1000)
    event: dict[str, object] = {
        "eventType": wire.EVENT_SHUTDOWN,
        "deadlineMs": wall_deadline_ms,
        "shutdownReason": reason,
    }
    core.send_shutdown(event)
    with core.cond:
        subscribed = {e.name for e in core.registry.all() if e.shutdown_sent}
    ext_procs = [p for p in gen.procs if p.kind == "extension"]
    for proc in ext_procs:
        if proc.name not in subscribed:  # unsubscribed or never registered: no SHUTDOWN, SIGKILL now
            proc.kill()
    core.wait_until(lambda: all(p.name in core.exited_extensions for p in ext_procs), deadline)
    with core.cond:
        late = tuple(
            p.name for p in ext_procs if p.name in subscribed and p.name not in core.exited_extensions
        )
    for name in late:
        gen.ctx.sink("platform", "platform", killed_line(name, budget_ms(gen)))
    for proc in gen.procs:
        proc.kill()
    for proc in gen.procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.popen.wait(5)  # a process that survives SIGKILL for 5 s is left to the OS
    core.close()
    gen.hub.close()
    return ShutdownReport(reason, round((time.monotonic() - start) * 1000.0, 3), late)
