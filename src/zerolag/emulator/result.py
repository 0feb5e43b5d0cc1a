"""What an invocation returns to its caller, and the captured log lines."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InvokeResult:
    """The outcome of one ``Sandbox.invoke``.

    ``status`` is ``success`` | ``error`` (the function or its init failed) | ``timeout`` | ``failure`` (the
    sandbox failed: runtime crash, out of memory, extension crash or init error). Durations are in ms;
    ``post_runtime_ms`` is the extensions' time after the runtime's next /next (part of ``duration_ms``).
    """

    status: str
    body: bytes
    error_type: str | None
    request_id: str
    duration_ms: float
    billed_duration_ms: int
    post_runtime_ms: float
    init_duration_ms: float | None
    max_memory_used_mb: int
    content_type: str = "application/json"

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def ok(self) -> bool:
        return self.status == "success"


@dataclass(frozen=True)
class LogLine:
    """One line a sandbox process wrote: ``source`` is ``function``/``extension`` (``platform`` for the
    START/END/REPORT lines passed to ``on_log`` callbacks)."""

    source: str
    name: str
    request_id: str | None
    text: str
