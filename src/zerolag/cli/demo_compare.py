"""The comparison: what reporting costs an invocation when the agent sends directly to a backend 3.5 ms away,
versus when it hands its data to the extension over loopback (the extension forwards over the same 3.5 ms).

Three runs of the same function (examples/functions/compare: an invocation span, 5 child spans, 3 logs):
``bare`` (agent off) is the baseline; ``direct`` exports synchronously at the end of each invocation;
``extension`` is the zerolag layer. Latency is what the caller waits for, as measured: the emulator answers
when the runtime posts /response (``InvokeResult.latency_ms``, docs/emulator.md); billed time is the whole
invocation, the extensions' post-runtime work included, rounded up to 1 ms.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerolag.cli.demo_run import EXAMPLES, backend_env, free_port
from zerolag.cli.demo_stack import Stack

WARMUP = 2


@dataclass(frozen=True)
class Mode:
    name: str
    label: str
    layer: Path
    env: dict[str, str]
    baseline: str | None = None  # the mode whose p50 latency this one's "added" is measured against


@dataclass(frozen=True)
class Sample:
    latency_ms: float
    billed_ms: int
    post_runtime_ms: float


@dataclass
class Measured:
    mode: Mode
    samples: list[Sample] = field(default_factory=list)
    failures: int = 0


@dataclass(frozen=True)
class Row:
    label: str
    latency_p50: float
    latency_p95: float
    added_p50: float | None
    baseline: str
    billed_p50: float
    post_runtime_p50: float
    failures: int


def agent_only_layer(full_layer: Path, dest: Path) -> Path:
    """The layer without its extension: the agent and wrapper only, as a function without zerolag's layer
    but with a direct-exporting agent would have."""
    shutil.copytree(full_layer / "python", dest / "python")
    return dest


def modes(stack: Stack, full_layer: Path, agent_layer: Path) -> list[Mode]:
    """bare and direct without the extension; the layer with the agent off, then on."""
    far = backend_env(stack, stack.far_collector_url)
    far_direct = backend_env(stack, stack.far_collector_url, direct=True)
    return [
        Mode("bare", "no telemetry (baseline)", agent_layer, {"ZEROLAG_ENABLED": "false"}),
        Mode(
            "direct",
            "agent -> collector 3.5 ms away",
            agent_layer,
            far_direct | {"ZEROLAG_REPORT_LOCAL": "false"},
            "bare",
        ),
        Mode("layer", "zerolag layer, agent off", full_layer, far | {"ZEROLAG_ENABLED": "false"}, "bare"),
        Mode(
            "extension",
            "agent -> zerolag extension",
            full_layer,
            far | {"ZEROLAG_REPORT_LOCAL": "true"},
            "layer",
        ),
    ]


def _sandbox(stack: Stack, mode: Mode) -> Any:
    from zerolag.emulator import Sandbox

    env = stack.aws_env() | mode.env
    env |= {"ZEROLAG_EXTENSION_PORT": str(free_port()), "ZEROLAG_THUNDRA_PORT": str(free_port())}
    return Sandbox(
        code=EXAMPLES / "compare",
        handler="app.handler",
        layers=[mode.layer],
        env=env,
        timeout=10.0,
        memory_mb=256,
        function_name=f"compare-{mode.name}",
    )


def run_modes(
    stack: Stack, all_modes: list[Mode], invocations: int, tick: Callable[[], None]
) -> list[Measured]:
    """Invoke the compare function in one sandbox per mode, round-robin (so a change in the machine's load
    hits every mode alike); the first ``WARMUP`` invocations of each are not measured."""
    measured = [Measured(mode) for mode in all_modes]
    with ExitStack() as stack_of_sandboxes:
        sandboxes = [stack_of_sandboxes.enter_context(_sandbox(stack, mode)) for mode in all_modes]
        for n in range(WARMUP + invocations):
            for sandbox, record in zip(sandboxes, measured, strict=True):
                result = sandbox.invoke({"n": n})
                tick()
                if result.status != "success":
                    record.failures += 1
                elif n >= WARMUP:
                    record.samples.append(
                        Sample(result.latency_ms, result.billed_duration_ms, result.post_runtime_ms)
                    )
    return measured


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summarize(measured: list[Measured]) -> list[Row]:
    """One row per mode; ``added`` is its p50 latency above its baseline's p50."""
    p50 = {m.mode.name: _p([s.latency_ms for s in m.samples], 0.5) for m in measured}
    rows = []
    for m in measured:
        latencies = [s.latency_ms for s in m.samples]
        base = m.mode.baseline
        rows.append(
            Row(
                label=m.mode.label,
                latency_p50=p50[m.mode.name],
                latency_p95=_p(latencies, 0.95),
                added_p50=None if base is None else p50[m.mode.name] - p50[base],
                baseline=base or "",
                billed_p50=_p([float(s.billed_ms) for s in m.samples], 0.5),
                post_runtime_p50=_p([s.post_runtime_ms for s in m.samples], 0.5),
                failures=m.failures,
            )
        )
    return rows


def format_table(rows: list[Row], invocations: int) -> str:
    """The comparison as a fixed-width text table."""
    header = f"{'reporting':<32}{'latency p50':>12}{'p95':>10}{'added p50':>22}"
    header += f"{'billed p50':>12}{'post-runtime':>14}"
    lines = [header, "-" * len(header)]
    for row in rows:
        added = "" if row.added_p50 is None else f"{row.added_p50:+.2f} ms vs {row.baseline}"
        note = f"  ({row.failures} failed)" if row.failures else ""
        lines.append(
            f"{row.label:<32}{row.latency_p50:>9.2f} ms{row.latency_p95:>7.2f} ms{added:>22}"
            f"{row.billed_p50:>9.0f} ms{row.post_runtime_p50:>11.2f} ms{note}"
        )
    lines.append(
        f"{invocations} warm invocations per row, round-robin. latency = what the caller waits for, measured "
        "(the\nresponse comes when the runtime posts it); billed = the whole invocation, rounded up to 1 ms."
    )
    return "\n".join(lines)
