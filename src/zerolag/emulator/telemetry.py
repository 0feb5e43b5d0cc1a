"""The platform side of the Telemetry API 2022-07-01 and the Logs API 2020-08-15 (contract section 3).

``TelemetryHub`` validates subscriptions, stamps the platform's events, translates them per API and schema,
and hands them to one ``Deliverer`` thread per subscription, which batches and POSTs them to the listener.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zerolag.emulator.logs import LOG_FORMAT_JSON, iso_now, json_record, parse_line
from zerolag.emulator.telemetry_batch import DROPPED_REASON, Backoff
from zerolag.emulator.telemetry_delivery import Deliverer, Post, http_post
from zerolag.emulator.telemetry_logsapi import LOGS_ONLY_TYPES, to_logs_api
from zerolag.emulator.telemetry_subscription import (
    Api,
    Subscription,
    SubscriptionError,
    parse_subscription,
    validation_error_type,
)
from zerolag.lambda_wire import ERR_LOGS_CLOSED, ERR_TELEMETRY_CLOSED, TelemetryEvent, error_body

JSON_RECORD_SCHEMAS = ("2022-12-13", "2025-01-29")
# Events of the Init phase are replayed to each new subscriber, so it sees platform.initStart (emitted before
# any extension runs). Recording stops at the first platform.start, or at this many events.
INIT_HISTORY_MAX = 10000
Pair = tuple[TelemetryEvent, "TelemetryEvent | None"]
OK_BODY = b'"OK"'


@dataclass
class _Subscriber:
    extension_id: str
    name: str
    sub: Subscription
    deliverer: Deliverer


def event_size(event: TelemetryEvent) -> int:
    """Encoded size of one event, as maxBytes counts it."""
    return len(json.dumps(event, separators=(",", ":")).encode())


def category(event_type: str) -> str:
    """The subscription type ("platform", "function", "extension") an event type belongs to."""
    return "platform" if event_type.startswith("platform.") else event_type


class TelemetryHub:
    """Subscriptions, events and delivery of one sandbox. Thread-safe."""

    def __init__(
        self,
        *,
        function_log_format: str = "Text",
        post: Post = http_post,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.function_log_format = function_log_format
        self.events: list[dict[str, Any]] = []
        self._post = post
        self._clock = clock
        self._rng = rng
        self._backoff = backoff
        self._lock = threading.Lock()
        self._events_lock = threading.Lock()
        self._subscribers: dict[tuple[str, Api], _Subscriber] = {}
        self._init_history: list[Pair] | None = []
        self._paused = False
        self._closed = False

    # --- subscriptions -------------------------------------------------------------------------------------
    def handle_subscribe(
        self, api: str, extension_id: str, extension_name: str, body: bytes, *, is_open: bool
    ) -> tuple[int, bytes]:
        """Answer ``PUT /2022-07-01/telemetry`` (api "telemetry") or ``PUT /2020-08-15/logs`` (api "logs")."""
        which: Api = "logs" if api == "logs" else "telemetry"
        if not is_open or self._closed:
            closed = ERR_LOGS_CLOSED if which == "logs" else ERR_TELEMETRY_CLOSED
            return 403, _error(closed, "subscriptions are accepted only during Init")
        try:
            sub = parse_subscription(which, body)
        except SubscriptionError as exc:
            return exc.status, _error(exc.error_type, exc.message)
        if not self._add_subscriber(extension_id, extension_name, sub):
            message = "the extension already subscribed through the other API (Logs or Telemetry)"
            return 400, _error(validation_error_type(which), message)
        record = {"name": extension_name, "state": "Subscribed", "types": list(sub.types)}
        kind = "platform.telemetrySubscription" if which == "telemetry" else "platform.logsSubscription"
        self.emit(kind, record)
        return 200, OK_BODY

    def _add_subscriber(self, extension_id: str, name: str, sub: Subscription) -> bool:
        other: Api = "logs" if sub.api == "telemetry" else "telemetry"
        with self._lock:
            if (extension_id, other) in self._subscribers or self._closed:
                return False
            old = self._subscribers.pop((extension_id, sub.api), None)
            deliverer = Deliverer(
                sub,
                on_dropped=self._dropped_event,
                post=self._post,
                clock=self._clock,
                rng=self._rng,
                backoff=self._backoff,
            )
            if self._paused:
                deliverer.pause()
            for event, json_event in self._init_history or []:
                self._offer(deliverer, event, json_event)
            self._subscribers[(extension_id, sub.api)] = _Subscriber(extension_id, name, sub, deliverer)
        if old is not None:
            old.deliverer.close()
        return True

    def subscriptions(self) -> list[Subscription]:
        """The accepted subscriptions (for tests and diagnostics)."""
        with self._lock:
            return [s.sub for s in self._subscribers.values()]

    # --- events --------------------------------------------------------------------------------------------
    def emit(self, type_: str, record: object) -> None:
        """Stamp a platform event with the current time and send it to every subscriber of its type."""
        if isinstance(record, dict):
            record = dict(record)  # the caller may reuse its dict; the delivered record must not change
        self._publish({"time": iso_now(), "type": type_, "record": record}, None)

    def log_line(self, source: str, line: str, *, request_id: str | None) -> None:
        """One stdout/stderr line of the function ("function") or an extension ("extension")."""
        now = iso_now()
        parsed = parse_line(source, line, log_format=self.function_log_format, request_id=request_id)
        text_event: TelemetryEvent = {"time": now, "type": source, "record": parsed.text}
        json_event: TelemetryEvent | None = None
        if self.function_log_format == LOG_FORMAT_JSON:
            json_event = {"time": now, "type": source, "record": json_record(parsed, now=now)}
        self._publish(text_event, json_event)

    def _publish(self, event: TelemetryEvent, json_event: TelemetryEvent | None) -> None:
        with self._lock:  # one lock for record and fan-out, so a new subscriber never sees an event twice
            if event["type"] not in LOGS_ONLY_TYPES:
                with self._events_lock:
                    self.events.append(dict(json_event or event))
            self._remember(event, json_event)
            for s in self._subscribers.values():
                self._offer(s.deliverer, event, json_event)

    def _remember(self, event: TelemetryEvent, json_event: TelemetryEvent | None) -> None:
        if self._init_history is None:
            return
        if event["type"] == "platform.start" or len(self._init_history) >= INIT_HISTORY_MAX:
            self._init_history = None
        else:
            self._init_history.append((event, json_event))

    def _offer(self, deliverer: Deliverer, event: TelemetryEvent, json_event: TelemetryEvent | None) -> None:
        if category(event["type"]) in deliverer.sub.types:
            for item in self._shape(deliverer.sub, event, json_event):
                deliverer.offer(item, event_size(item))

    @staticmethod
    def _shape(
        sub: Subscription, event: TelemetryEvent, json_event: TelemetryEvent | None
    ) -> list[TelemetryEvent]:
        if sub.api == "logs":
            return to_logs_api(event, sub.schema_version)
        if event["type"] in LOGS_ONLY_TYPES:
            return []
        if json_event is not None and sub.schema_version in JSON_RECORD_SCHEMAS:
            return [json_event]
        return [event]

    def _dropped_event(self, records: int, size: int) -> TelemetryEvent:
        record = {"droppedBytes": size, "droppedRecords": records, "reason": DROPPED_REASON}
        event: TelemetryEvent = {"time": iso_now(), "type": "platform.logsDropped", "record": record}
        with self._events_lock:
            self.events.append(dict(event))
        return event

    # --- freeze, flush, close ------------------------------------------------------------------------------
    def pause(self) -> None:
        """The sandbox is frozen: deliver nothing until ``resume``."""
        for d in self._deliverers(paused=True):
            d.pause()

    def resume(self) -> None:
        """The sandbox is thawed: deliver whatever is due."""
        for d in self._deliverers(paused=False):
            d.resume()

    def flush(self, timeout: float) -> None:
        """Deliver everything buffered now (timeoutMs ignored), waiting at most ``timeout`` seconds in all."""
        deadline = self._clock() + timeout
        for d in self._deliverers():
            d.flush(deadline)

    def close(self) -> None:
        """Stop every delivery thread; undelivered events are discarded. Idempotent."""
        with self._lock:
            self._closed = True
            subscribers = list(self._subscribers.values())
            self._subscribers.clear()
        for s in subscribers:
            s.deliverer.close()

    def _deliverers(self, paused: bool | None = None) -> list[Deliverer]:
        with self._lock:
            if paused is not None:
                self._paused = paused
            return [s.deliverer for s in self._subscribers.values()]


def _error(error_type: str, message: str) -> bytes:
    return json.dumps(error_body(error_type, message)).encode()
