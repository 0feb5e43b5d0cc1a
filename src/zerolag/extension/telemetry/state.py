"""Per-invocation bookkeeping of what the platform and the agent told us (pure data, no I/O)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

from zerolag.extension.telemetry.ids import TraceContext, parse_trace_header, span_id_for, trace_id_for
from zerolag.extension.telemetry.logs import LogLine

MAX_AGENT_BATCHES: Final = 16
MAX_AGENT_BYTES: Final = 1 << 20
MAX_PENDING_LOGS: Final = 1000  # then they are sent early, correlated by request and trace id only
MAX_PENDING_LOG_BYTES: Final = 1 << 20
MAX_TAIL_LINE: Final = 2000

Record = dict[str, Any]


@dataclass
class AgentView:
    """What the in-function agent sent for one request (``X-Zerolag-Request-Id``)."""

    signals: set[str] = field(default_factory=set)
    final: bool = False
    trace_batches: list[bytes] = field(default_factory=list)
    trace_bytes: int = 0
    ids: AgentIds | None = None
    ids_resolved: bool = False

    def add(self, signal: str, payload: bytes, final: bool) -> None:
        self.signals.add(signal)
        self.final = self.final or final
        room = len(self.trace_batches) < MAX_AGENT_BATCHES
        room = room and self.trace_bytes + len(payload) <= MAX_AGENT_BYTES
        if signal == "traces" and payload and room:
            self.trace_batches.append(payload)
            self.trace_bytes += len(payload)
            self.ids_resolved = False


@dataclass(frozen=True)
class AgentIds:
    """The agent's invocation span as far as its (possibly partial) data tells."""

    trace_id: str
    span_id: str
    parent_span_id: str = ""
    server: bool = False  # the agent's SERVER span itself was sent (the invocation is reported)


@dataclass
class LogEntry:
    """A function log line waiting for its invocation to end (so it gets the right trace/span ids)."""

    time_ns: int
    line: LogLine
    source: str


@dataclass
class Invocation:
    """One invocation, from INVOKE / platform.start to platform.report (or shutdown)."""

    request_id: str
    seen_ns: int
    start_ns: int | None = None
    trace: TraceContext | None = None
    invoked_arn: str = ""
    invoked: bool = False  # seen as an INVOKE event (not only through agent data)
    deadline_ms: int | None = None
    cold_start: bool = False
    version: str = ""
    runtime_done: Record | None = None
    runtime_done_ns: int | None = None
    report: Record | None = None
    report_ns: int | None = None
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=20))
    logs: list[LogEntry] = field(default_factory=list)
    log_bytes: int = 0
    agent: AgentView = field(default_factory=AgentView)
    printed_error: tuple[str, str] | None = None  # the runtime's error record (type, message), if printed

    def set_tracing(self, value: object) -> None:
        """Record the X-Ray/W3C trace header (the first one seen wins)."""
        if self.trace is None:
            self.trace = parse_trace_header(value)

    def add_log(self, entry: LogEntry) -> bool:
        """Keep a line until the invocation ends; True when the pending lines should be sent early."""
        text = entry.line.text
        self.tail.append(text[:MAX_TAIL_LINE])
        self.logs.append(entry)
        self.log_bytes += len(text)
        return len(self.logs) >= MAX_PENDING_LOGS or self.log_bytes >= MAX_PENDING_LOG_BYTES

    def take_logs(self) -> list[LogEntry]:
        logs, self.logs, self.log_bytes = self.logs, [], 0
        return logs

    def own_trace_id(self) -> str:
        """The platform trace id, or one derived from the request id when the invocation is not traced."""
        return self.trace.trace_id if self.trace else trace_id_for("zerolag-invocation/" + self.request_id)

    def own_span_id(self) -> str:
        """The id of the span synthesized for this invocation."""
        return span_id_for("zerolag-invocation/" + self.request_id)


@dataclass
class InitPhase:
    """Init (cold start) as told by initStart, initRuntimeDone and initReport."""

    start_ns: int | None = None
    start: Record = field(default_factory=dict)
    runtime_done: Record | None = None
    runtime_done_ns: int | None = None
    report: Record | None = None
    report_ns: int | None = None
    printed_error: tuple[str, str] | None = None  # the runtime's error record during Init, if printed
