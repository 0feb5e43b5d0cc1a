"""Extension registrations: validation of ``/extension/register`` and identifier look-up (pure, no I/O).

Error types and order follow the contract, section 2.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from dataclasses import dataclass, field

from zerolag import lambda_wire as wire
from zerolag.emulator.http_base import ApiError

VALID_EVENTS = frozenset({wire.EVENT_INVOKE, wire.EVENT_SHUTDOWN})


@dataclass
class Extension:
    """One registered extension and its event queue."""

    id: str
    name: str
    events: tuple[str, ...]  # in the order the register request listed them (the EXTENSION line shows it)
    internal: bool
    queue: deque[dict[str, object]] = field(default_factory=deque)
    waiting: bool = False  # blocked in /event/next
    ready: bool = False  # has called /event/next at least once (init done for it)
    busy: bool = False  # got INVOKE and has not called /event/next since
    done_at: float | None = None  # when it last finished an INVOKE
    error: str | None = None  # "init"|"exit" after init/error or exit/error
    error_type: str | None = None
    exited: bool = False
    shutdown_sent: bool = False


def parse_events(body: bytes) -> tuple[str, ...]:
    """The ``events`` of a register body, or 403 InvalidRequestFormat / InvalidEventType."""
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(403, wire.ERR_INVALID_REQUEST_FORMAT, "Invalid JSON in register request") from exc
    if not isinstance(doc, dict) or "configurationKeys" in doc:
        raise ApiError(403, wire.ERR_INVALID_REQUEST_FORMAT, "Invalid register request")
    events = doc.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ApiError(403, wire.ERR_INVALID_REQUEST_FORMAT, "events must be a list of strings")
    bad = [e for e in events if e not in VALID_EVENTS]
    if bad:
        raise ApiError(403, wire.ERR_EXT_INVALID_EVENT_TYPE, f"Invalid event type: {bad[0]}")
    return tuple(dict.fromkeys(events))


def accepts_account_id(header: str | None) -> bool:
    return wire.FEATURE_ACCOUNT_ID in [f.strip() for f in (header or "").split(",")]


class Registry:
    """The extensions of one sandbox generation, by identifier, in registration order."""

    def __init__(self, external_names: frozenset[str]) -> None:
        self.external_names = external_names
        self.by_id: dict[str, Extension] = {}
        self.open = True

    def register(self, name: str | None, body: bytes) -> Extension:
        if not name:
            raise ApiError(403, wire.ERR_EXT_INVALID_NAME, "Empty extension name")
        events = parse_events(body)
        if not self.open:
            raise ApiError(403, wire.ERR_EXT_REGISTRATION_CLOSED, "Extension registration closed already")
        internal = name not in self.external_names
        if internal and wire.EVENT_SHUTDOWN in events:
            raise ApiError(403, wire.ERR_EXT_INVALID_EVENT_TYPE, "Internal extensions cannot take SHUTDOWN")
        if any(e.name == name for e in self.by_id.values()):
            raise ApiError(403, wire.ERR_EXT_INVALID_STATE, f"Extension {name} is already registered")
        if len(self.by_id) >= wire.MAX_EXTENSIONS:
            raise ApiError(403, wire.ERR_EXT_TOO_MANY, f"Extension limit ({wire.MAX_EXTENSIONS}) reached")
        ext = Extension(id=str(uuid.uuid4()), name=name, events=events, internal=internal)
        self.by_id[ext.id] = ext
        return ext

    def lookup(self, ext_id: str | None) -> Extension:
        if not ext_id:
            raise ApiError(403, wire.ERR_EXT_MISSING_ID, "Missing Lambda-Extension-Identifier header")
        try:
            uuid.UUID(ext_id)
        except ValueError as exc:
            raise ApiError(403, wire.ERR_EXT_INVALID_ID, "Invalid extension identifier") from exc
        ext = self.by_id.get(ext_id)
        if ext is None:
            raise ApiError(403, wire.ERR_EXT_UNKNOWN_ID, "Unknown extension identifier")
        return ext

    def by_name(self, name: str) -> Extension | None:
        return next((e for e in self.by_id.values() if e.name == name), None)

    def all(self) -> list[Extension]:
        return list(self.by_id.values())

    def externals_registered(self) -> bool:
        names = {e.name for e in self.by_id.values()}
        return self.external_names <= names
