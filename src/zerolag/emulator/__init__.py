"""A local AWS Lambda execution environment: Runtime, Extensions, Telemetry and Logs APIs, real processes,
freeze, timeouts, resets and the real awslambdaric. See docs/emulator.md."""

from __future__ import annotations

from zerolag.emulator.result import InvokeResponse, InvokeResult, LogLine, PendingInvoke
from zerolag.emulator.sandbox import Sandbox

__all__ = ["InvokeResponse", "InvokeResult", "LogLine", "PendingInvoke", "Sandbox"]
