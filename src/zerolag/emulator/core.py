"""The lifecycle core of one sandbox generation: the state both APIs act on and the sandbox waits on.

No I/O: the HTTP handlers call the ``runtime_*``/``extension_*`` methods (which raise
:class:`ApiError` with the contract's error types), the process watchers call
:meth:`Core.process_exited`, and the sandbox drives invocations and waits for conditions.
One condition variable guards everything.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from zerolag import lambda_wire as wire
from zerolag.emulator.http_base import ApiError
from zerolag.emulator.registry import Extension, Registry

_CATEGORY = re.compile(r"^(Runtime|Function)\.[A-Z][a-zA-Z]+$")


def telemetry_error_type(header: str | None) -> str:
    """What rapid records for an error type: the header when it is a ``Runtime.X``/``Function.X`` category."""
    return header if header and _CATEGORY.match(header) else wire.ERR_RUNTIME_UNKNOWN


@dataclass
class Outcome:
    """What the runtime posted for an invocation (or init): a response or an error."""

    kind: str  # "response" | "error"
    body: bytes
    content_type: str = "application/json"
    error_type: str | None = None  # header value, or the body's errorType (what the client sees)
    header_type: str | None = None  # the Lambda-Runtime-Function-Error-Type header (what telemetry records)
    first_byte_at: float = 0.0
    last_byte_at: float = 0.0


@dataclass
class Invocation:
    """One invocation in flight."""

    request_id: str
    payload: bytes
    deadline_ms: int
    function_arn: str
    trace_id: str | None
    client_context: str | None = None
    cognito_identity: str | None = None
    content_type: str = "application/json"
    started_at: float = field(default_factory=time.monotonic)
    released: bool = False  # handed to the runtime (after the extensions got INVOKE)
    delivered: bool = False
    outcome: Outcome | None = None
    runtime_next_at: float | None = None  # runtime called /next after its outcome
    pending_extensions: set[str] = field(default_factory=set)
    extensions_done_at: float | None = None


class Core:
    """State of one sandbox generation (init, invocations, shutdown)."""

    def __init__(self, external_names: frozenset[str]) -> None:
        self.cond = threading.Condition()
        self.registry = Registry(external_names)
        self.closed = False
        self.init_done = False
        self.runtime_started_next = False  # runtime called /next once (registration closed)
        self.runtime_ready_at: float | None = None
        self.runtime_waiting = False
        self.runtime_exit: int | None = None
        self.init_error: Outcome | None = None
        self.invocation: Invocation | None = None
        self.finished_ids: set[str] = set()
        self.exited_extensions: dict[str, int] = {}
        self.deliveries: list[tuple[str, str]] = []  # (event type or "RUNTIME", receiver) in delivery order

    # --- waiting ---------------------------------------------------------------------------------------
    def wait_until(self, predicate: Callable[[], bool], deadline: float) -> bool:
        """Wait until ``predicate()`` (evaluated under the lock) or the monotonic ``deadline``."""
        with self.cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
            return True

    def close(self) -> None:
        """Release every blocked /next: the generation is over."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def process_exited(self, kind: str, name: str, code: int) -> None:
        with self.cond:
            if kind == "runtime":
                self.runtime_exit = code
            else:
                self.exited_extensions[name] = code
                ext = self.registry.by_name(name)
                if ext is not None:
                    ext.exited = True
                    self._extension_finished(ext)
            self.cond.notify_all()

    # --- runtime API -----------------------------------------------------------------------------------
    def runtime_next(self) -> Invocation | None:
        """Block until an invocation is for the runtime; None when the generation closed."""
        with self.cond:
            inv = self.invocation
            if self.runtime_waiting or (inv is not None and inv.delivered and inv.outcome is None):
                raise ApiError(403, wire.ERR_INVALID_STATE_TRANSITION, "Runtime is not ready for /next")
            if self.init_error is not None:
                raise ApiError(403, wire.ERR_INVALID_STATE_TRANSITION, "Init failed")
            if not self.runtime_started_next:
                self.runtime_started_next = True
                self.registry.open = False
                self.runtime_ready_at = time.monotonic()
            if inv is not None and inv.delivered and inv.runtime_next_at is None:
                inv.runtime_next_at = time.monotonic()
            self.runtime_waiting = True
            self.cond.notify_all()
            try:
                while not self.closed:
                    inv = self.invocation
                    if inv is not None and inv.released and not inv.delivered:
                        inv.delivered = True
                        self.deliveries.append(("RUNTIME", inv.request_id))
                        return inv
                    self.cond.wait()
                return None
            finally:
                self.runtime_waiting = False

    def runtime_outcome(self, request_id: str, outcome: Outcome) -> None:
        """Record /response or /error for ``request_id``."""
        with self.cond:
            inv = self.invocation
            if inv is None or inv.request_id != request_id or not inv.delivered:
                if request_id in self.finished_ids or (inv is not None and inv.request_id == request_id):
                    raise ApiError(403, wire.ERR_INVALID_STATE_TRANSITION, "Invocation is not in progress")
                raise ApiError(400, wire.ERR_INVALID_REQUEST_ID, "Invalid request ID")
            if inv.outcome is not None:
                raise ApiError(403, wire.ERR_INVALID_STATE_TRANSITION, "Response already sent")
            inv.outcome = outcome
            self.cond.notify_all()

    def runtime_init_error(self, outcome: Outcome) -> None:
        with self.cond:
            if self.runtime_started_next or self.init_error is not None or self.closed:
                raise ApiError(403, wire.ERR_INVALID_STATE_TRANSITION, "Init error not allowed now")
            self.init_error = outcome
            self.cond.notify_all()

    # --- extensions API --------------------------------------------------------------------------------
    def extension_register(self, name: str | None, body: bytes) -> Extension:
        with self.cond:
            ext = self.registry.register(name, body)
            self.cond.notify_all()
            return ext

    def extension_lookup(self, ext_id: str | None) -> Extension:
        with self.cond:
            return self.registry.lookup(ext_id)

    def extension_next(self, ext_id: str | None) -> dict[str, object] | None:
        """Block until an event is queued for the extension; None when the generation closed."""
        with self.cond:
            ext = self.registry.lookup(ext_id)
            if ext.error is not None or ext.waiting:
                raise ApiError(403, wire.ERR_EXT_INVALID_STATE, "Extension cannot call /event/next now")
            ext.ready = True
            self._extension_finished(ext)
            ext.waiting = True
            self.cond.notify_all()
            try:
                while not ext.queue:
                    if self.closed:
                        return None
                    self.cond.wait()
                event = ext.queue.popleft()
                ext.busy = event.get("eventType") == wire.EVENT_INVOKE
                self.deliveries.append((str(event.get("eventType")), ext.name))
                self.cond.notify_all()
                return event
            finally:
                ext.waiting = False

    def extension_error(self, ext_id: str | None, kind: str, error_type: str | None) -> Extension:
        with self.cond:
            ext = self.registry.lookup(ext_id)
            if not error_type:
                raise ApiError(403, wire.ERR_EXT_MISSING_HEADER, f"Missing {wire.H_EXTENSION_ERROR_TYPE}")
            if ext.error is not None or (kind == "init" and self.init_done):
                raise ApiError(403, wire.ERR_EXT_INVALID_STATE, f"Extension cannot report {kind} error now")
            ext.error, ext.error_type = kind, error_type
            self._extension_finished(ext)
            self.cond.notify_all()
            return ext

    def _extension_finished(self, ext: Extension) -> None:
        if not ext.busy:
            return
        ext.busy = False
        ext.done_at = time.monotonic()
        inv = self.invocation
        if inv is not None:
            inv.pending_extensions.discard(ext.id)
            if not inv.pending_extensions:
                inv.extensions_done_at = ext.done_at

    # --- sandbox side ----------------------------------------------------------------------------------
    def queue_invoke(self, inv: Invocation, event: dict[str, object]) -> None:
        """Queue INVOKE for every live INVOKE subscriber (the runtime gets it later: :meth:`release`)."""
        with self.cond:
            for ext in self.registry.all():
                if wire.EVENT_INVOKE in ext.events and not ext.exited and ext.error is None:
                    inv.pending_extensions.add(ext.id)
                    ext.queue.append(event)
            if not inv.pending_extensions:
                inv.extensions_done_at = inv.started_at
            self.invocation = inv
            self.cond.notify_all()

    def invoke_taken(self) -> bool:
        """Every extension blocked in /next has taken its INVOKE (caller holds the lock via wait_until)."""
        return not any(e.queue and e.waiting for e in self.registry.all())

    def release(self, inv: Invocation) -> None:
        """Hand the invocation to the runtime."""
        with self.cond:
            inv.released = True
            self.cond.notify_all()

    def finish_invocation(self) -> None:
        with self.cond:
            if self.invocation is not None:
                self.finished_ids.add(self.invocation.request_id)
            self.invocation = None

    def send_shutdown(self, event: dict[str, object]) -> list[Extension]:
        """Queue SHUTDOWN for every live subscriber; return the live extensions that are not subscribed."""
        unsubscribed: list[Extension] = []
        with self.cond:
            for ext in self.registry.all():
                if ext.exited or ext.internal:
                    continue
                if wire.EVENT_SHUTDOWN in ext.events:
                    ext.queue.append(event)
                    ext.shutdown_sent = True
                else:
                    unsubscribed.append(ext)
            self.cond.notify_all()
        return unsubscribed

    def extensions_ready(self) -> bool:
        """Every registered extension has called /next (caller holds the lock via wait_until)."""
        return all(e.ready or e.exited for e in self.registry.all())

    def failed_extension(self) -> Extension | None:
        return next((e for e in self.registry.all() if e.error is not None), None)
