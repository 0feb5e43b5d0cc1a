"""The seams to the telemetry hub and the memory guard (built in ``telemetry.py`` and ``memory.py``).

The sandbox codes against these protocols. When a module is missing (it is built in parallel) a minimal
stand-in keeps the sandbox working: it records events and measures nothing.
"""

from __future__ import annotations

import importlib
from typing import Protocol, cast


class Hub(Protocol):
    """The Telemetry/Logs API hub of one sandbox generation."""

    events: list[dict[str, object]]

    def handle_subscribe(
        self, api: str, extension_id: str, extension_name: str, body: bytes, *, is_open: bool
    ) -> tuple[int, bytes]: ...
    def emit(self, type_: str, record: dict[str, object]) -> None: ...
    def log_line(self, source: str, line: str, *, request_id: str | None) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def flush(self, timeout: float) -> None: ...
    def close(self) -> None: ...


class Guard(Protocol):
    """Memory limit and peak usage of one sandbox."""

    def add_pid(self, pid: int) -> None: ...
    def max_used_mb(self) -> int: ...
    def reset_peak(self) -> None: ...
    def oom_killed(self) -> bool: ...
    def close(self) -> None: ...


class RecordingHub:
    """Stand-in hub: records platform events, accepts no subscriptions."""

    def __init__(self, *, function_log_format: str = "Text") -> None:
        self.events: list[dict[str, object]] = []

    def handle_subscribe(
        self, api: str, extension_id: str, extension_name: str, body: bytes, *, is_open: bool
    ) -> tuple[int, bytes]:
        return 202, b'{"errorType":"Telemetry.NotSupported","errorMessage":"no telemetry hub"}'

    def emit(self, type_: str, record: dict[str, object]) -> None:
        from zerolag.emulator.records import iso_now

        self.events.append({"time": iso_now(), "type": type_, "record": record})

    def log_line(self, source: str, line: str, *, request_id: str | None) -> None:
        """Stand-in: log lines are kept in ``Sandbox.logs`` only."""

    def pause(self) -> None:
        """Nothing is delivered, so nothing to hold."""

    def resume(self) -> None:
        """Nothing is delivered, so nothing to release."""

    def flush(self, timeout: float) -> None:
        """Nothing pending."""

    def close(self) -> None:
        """Nothing to release."""


class NullGuard:
    """Stand-in guard: no limit, reports zero."""

    def add_pid(self, pid: int) -> None:
        """Nothing is watched."""

    def max_used_mb(self) -> int:
        return 0

    def reset_peak(self) -> None:
        """Nothing measured."""

    def oom_killed(self) -> bool:
        return False

    def close(self) -> None:
        """Nothing to release."""


def make_hub(function_log_format: str) -> Hub:
    try:
        module = importlib.import_module("zerolag.emulator.telemetry")
    except ImportError:
        return RecordingHub(function_log_format=function_log_format)
    return cast(Hub, module.TelemetryHub(function_log_format=function_log_format))


def make_guard(sandbox_id: str, limit_mb: int) -> Guard:
    try:
        module = importlib.import_module("zerolag.emulator.memory")
    except ImportError:
        return NullGuard()
    return cast(Guard, module.MemoryGuard.create(sandbox_id, limit_mb))
