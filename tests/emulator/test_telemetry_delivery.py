"""Telemetry API delivery over real HTTP on loopback (contract section 3): batching, retry, pause, drops."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from zerolag.emulator.telemetry import TelemetryHub
from zerolag.emulator.telemetry_batch import Backoff
from zerolag.emulator.telemetry_delivery import http_post
from zerolag.emulator.telemetry_subscription import Subscription

WAIT_S = 30.0
TIME_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FAST_BACKOFF = Backoff(base_s=0.01, cap_s=0.05, max_attempts=6)


class Listener:
    """A Telemetry API listener on 127.0.0.1 that records every batch; it can fail or stall on purpose."""

    def __init__(self, *, fail_first: int = 0, delay_s: float = 0.0, port: int = 0) -> None:
        self.batches: list[list[dict[str, Any]]] = []
        self.attempts = 0
        self.fail_first = fail_first
        self.delay_s = delay_s
        self.cond = threading.Condition()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with listener.cond:
                    listener.attempts += 1
                    failing = listener.attempts <= listener.fail_first
                if listener.delay_s:
                    threading.Event().wait(listener.delay_s)  # a slow consumer, not synchronisation
                if not failing:  # recorded before the reply: once the hub sees 200, the batch is here
                    with listener.cond:
                        listener.batches.append(json.loads(body))
                        listener.cond.notify_all()
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def events(self) -> list[dict[str, Any]]:
        with self.cond:
            return [e for batch in self.batches for e in batch]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = WAIT_S) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate([e for b in self.batches for e in b]), timeout)

    def wait_types(self, *types: str) -> bool:
        return self.wait_for(lambda evs: all(any(e["type"] == t for e in evs) for t in types))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    srv = Listener()
    yield srv
    srv.close()


@pytest.fixture
def hub() -> Iterator[TelemetryHub]:
    h = TelemetryHub(backoff=FAST_BACKOFF)
    yield h
    h.close()


def subscribe(
    hub: TelemetryHub,
    port: int,
    *,
    api: str = "telemetry",
    ext: str = "ext-1",
    types: tuple[str, ...] = ("platform", "function", "extension"),
    schema: str | None = "2022-12-13",
    host: str = "sandbox.localdomain",
    **buffering: int,
) -> tuple[int, bytes]:
    body: dict[str, Any] = {
        "types": list(types),
        "buffering": buffering,
        "destination": {"protocol": "HTTP", "URI": f"http://{host}:{port}/telemetry"},
    }
    if schema is not None:
        body["schemaVersion"] = schema
    return hub.handle_subscribe(api, ext, ext, json.dumps(body).encode(), is_open=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_subscribe_then_deliver_end_to_end(hub: TelemetryHub, listener: Listener) -> None:
    """Subscribing gets 200 "OK"; platform events reach the listener as a JSON array of time/type/record."""
    status, body = subscribe(hub, listener.port, timeoutMs=25)
    assert (status, json.loads(body)) == (200, "OK")
    hub.emit("platform.start", {"requestId": "r1", "version": "$LATEST"})
    assert listener.wait_types("platform.telemetrySubscription", "platform.start")
    events = listener.events
    assert [e["type"] for e in events] == ["platform.telemetrySubscription", "platform.start"]
    assert events[0]["record"] == {
        "name": "ext-1",
        "state": "Subscribed",
        "types": ["platform", "function", "extension"],
    }
    assert events[1]["record"] == {"requestId": "r1", "version": "$LATEST"}
    assert all(TIME_FORMAT.match(e["time"]) for e in events)
    assert [e["type"] for e in hub.events] == ["platform.telemetrySubscription", "platform.start"]


@pytest.mark.parametrize("host", ["sandbox", "127.0.0.1", "localhost"])
def test_destination_hosts_map_to_loopback(hub: TelemetryHub, listener: Listener, host: str) -> None:
    """The sandbox host names and loopback names all deliver to 127.0.0.1."""
    assert subscribe(hub, listener.port, host=host, timeoutMs=25)[0] == 200
    assert listener.wait_types("platform.telemetrySubscription")


def test_max_items_triggers_a_batch_before_the_timeout(hub: TelemetryHub, listener: Listener) -> None:
    """With a 30 s timeout, reaching maxItems sends a batch of exactly maxItems events."""
    subscribe(hub, listener.port, maxItems=1000, timeoutMs=30000)
    for i in range(999):
        hub.emit("platform.extension", {"name": f"e{i}", "state": "Ready", "events": []})
    assert listener.wait_for(lambda evs: len(evs) >= 1000)
    assert len(listener.batches[0]) == 1000


def test_max_bytes_triggers_a_batch_within_the_limit(hub: TelemetryHub, listener: Listener) -> None:
    """Reaching maxBytes sends a batch whose events together stay within maxBytes."""
    subscribe(hub, listener.port, maxBytes=262144, timeoutMs=30000)
    line = "x" * 10000
    for _ in range(30):
        hub.log_line("function", line, request_id="r1")
    assert listener.wait_for(lambda evs: len(evs) >= 2)
    first = listener.batches[0]
    assert 2 <= len(first) < 31
    assert sum(len(json.dumps(e, separators=(",", ":"))) for e in first) <= 262144


def test_failing_listener_gets_the_batch_on_retry(hub: TelemetryHub) -> None:
    """A listener answering 500 twice receives the batch on the third attempt."""
    srv = Listener(fail_first=2)
    try:
        subscribe(hub, srv.port, timeoutMs=25)
        assert srv.wait_types("platform.telemetrySubscription")
        assert srv.attempts == 3
        assert len(srv.batches) == 1
    finally:
        srv.close()


def test_refused_connection_is_retried_until_the_listener_binds() -> None:
    """Connection refused counts as a failure; once the listener binds, the retried batch arrives."""
    port = free_port()
    failed = threading.Event()

    def post(sub: Subscription, body: bytes) -> bool:
        ok = http_post(sub, body)
        if not ok:
            failed.set()
        return ok

    hub = TelemetryHub(post=post, backoff=Backoff(base_s=0.05, cap_s=0.2, max_attempts=1000))
    try:
        subscribe(hub, port, timeoutMs=25)
        assert failed.wait(WAIT_S)
        srv = Listener(port=port)
        try:
            assert srv.wait_types("platform.telemetrySubscription")
        finally:
            srv.close()
    finally:
        hub.close()


def test_exhausted_retries_drop_the_batch_and_report_it(hub: TelemetryHub) -> None:
    """A batch whose retries run out is dropped; a later delivery carries platform.logsDropped for it."""
    srv = Listener(fail_first=FAST_BACKOFF.max_attempts)
    try:
        subscribe(hub, srv.port, timeoutMs=25)
        assert srv.wait_types("platform.logsDropped")
        dropped = next(e for e in srv.events if e["type"] == "platform.logsDropped")
        assert dropped["record"]["droppedRecords"] == 1
        assert dropped["record"]["droppedBytes"] > 0
        assert isinstance(dropped["record"]["reason"], str)
    finally:
        srv.close()


def test_slow_listener_receives_everything_in_order(hub: TelemetryHub) -> None:
    """A listener that takes a while per batch still receives every event, in emission order."""
    srv = Listener(delay_s=0.05)
    try:
        subscribe(hub, srv.port, timeoutMs=25)
        for i in range(50):
            hub.emit("platform.start", {"requestId": f"r{i}"})
        assert srv.wait_for(lambda evs: sum(e["type"] == "platform.start" for e in evs) == 50)
        ids = [e["record"]["requestId"] for e in srv.events if e["type"] == "platform.start"]
        assert ids == [f"r{i}" for i in range(50)]
    finally:
        srv.close()


def test_paused_hub_delivers_nothing_until_resumed(hub: TelemetryHub, listener: Listener) -> None:
    """While paused (frozen sandbox) nothing is delivered, even on flush; resume delivers what is due."""
    hub.pause()
    subscribe(hub, listener.port, timeoutMs=25)
    hub.emit("platform.start", {"requestId": "r1"})
    hub.flush(0.5)
    assert listener.attempts == 0
    hub.resume()
    assert listener.wait_types("platform.telemetrySubscription", "platform.start")


def test_flush_delivers_before_the_timeout(hub: TelemetryHub, listener: Listener) -> None:
    """flush() sends a partial batch at once even though timeoutMs (30 s) has not passed."""
    subscribe(hub, listener.port, timeoutMs=30000)
    hub.emit("platform.report", {"requestId": "r1", "status": "success", "metrics": {}})
    hub.flush(WAIT_S)
    assert [e["type"] for e in listener.events] == ["platform.telemetrySubscription", "platform.report"]


def test_overflow_while_frozen_emits_logs_dropped(hub: TelemetryHub, listener: Listener) -> None:
    """Events beyond the buffer's capacity are dropped and reported as platform.logsDropped."""
    subscribe(hub, listener.port, maxItems=1000, timeoutMs=25)
    assert listener.wait_types("platform.telemetrySubscription")
    hub.pause()
    for i in range(4500):
        hub.log_line("function", f"line {i}", request_id="r1")
    hub.resume()
    assert listener.wait_types("platform.logsDropped")
    assert listener.wait_for(lambda evs: sum(e["type"] == "function" for e in evs) == 4000)
    dropped = [e["record"] for e in listener.events if e["type"] == "platform.logsDropped"]
    assert sum(d["droppedRecords"] for d in dropped) == 500
    assert any(e["type"] == "platform.logsDropped" for e in hub.events)


def test_only_subscribed_types_are_delivered(hub: TelemetryHub, listener: Listener) -> None:
    """A platform-only subscriber never receives function or extension lines."""
    subscribe(hub, listener.port, types=("platform",), timeoutMs=25)
    hub.log_line("function", "hello", request_id="r1")
    hub.log_line("extension", "ext hello", request_id=None)
    hub.emit("platform.start", {"requestId": "r1"})
    assert listener.wait_types("platform.start")
    hub.flush(WAIT_S)
    assert {e["type"] for e in listener.events} == {"platform.telemetrySubscription", "platform.start"}


def test_logs_api_subscriber_receives_logs_api_shapes(hub: TelemetryHub, listener: Listener) -> None:
    """Logs API 2021-03-18: logsSubscription, start, runtimeDone, end, report, fault and string log lines."""
    status, body = subscribe(hub, listener.port, api="logs", schema="2021-03-18", timeoutMs=25)
    assert (status, body) == (200, b'"OK"')
    hub.emit("platform.start", {"requestId": "r1", "version": "$LATEST"})
    hub.log_line("function", "[INFO]\t2024-01-01T00:00:00.000Z\tr1\thi", request_id="r1")
    hub.emit("platform.runtimeDone", {"requestId": "r1", "status": "timeout", "metrics": {"durationMs": 3.0}})
    metrics = {"durationMs": 3000.0, "billedDurationMs": 3000, "memorySizeMB": 128, "maxMemoryUsedMB": 40}
    hub.emit("platform.report", {"requestId": "r1", "status": "timeout", "metrics": metrics})
    assert listener.wait_types("platform.fault")
    events = listener.events
    assert [e["type"] for e in events] == [
        "platform.logsSubscription",
        "platform.start",
        "function",
        "platform.runtimeDone",
        "platform.end",
        "platform.report",
        "platform.fault",
    ]
    assert events[0]["record"]["name"] == "ext-1"
    assert events[2]["record"] == "[INFO]\t2024-01-01T00:00:00.000Z\tr1\thi"
    assert events[3]["record"] == {"requestId": "r1", "status": "timeout"}
    assert events[4]["record"] == {"requestId": "r1"}
    assert events[5]["record"] == {"requestId": "r1", "metrics": metrics}
    assert isinstance(events[6]["record"], str)


def test_json_log_format_objects_only_for_newer_schemas(listener: Listener) -> None:
    """With JSON log format, schema 2022-12-13 gets object records, schema 2022-07-01 gets the line string."""
    other = Listener()
    hub = TelemetryHub(function_log_format="JSON")
    try:
        subscribe(hub, listener.port, ext="new", types=("function",), schema="2022-12-13", timeoutMs=25)
        subscribe(hub, other.port, ext="old", types=("function",), schema="2022-07-01", timeoutMs=25)
        line = json.dumps({"timestamp": "2024-01-01T00:00:00Z", "level": "INFO", "message": "hi"})
        hub.log_line("function", line, request_id="r1")
        assert listener.wait_types("function")
        assert other.wait_types("function")
        assert listener.events[0]["record"] == {
            "timestamp": "2024-01-01T00:00:00Z",
            "level": "INFO",
            "message": "hi",
            "requestId": "r1",
        }
        assert other.events[0]["record"] == line
    finally:
        hub.close()
        other.close()


def test_close_is_idempotent_and_refuses_new_subscriptions(listener: Listener) -> None:
    """After close() the hub stops delivering and further subscriptions are refused."""
    hub = TelemetryHub()
    subscribe(hub, listener.port, timeoutMs=25)
    hub.close()
    hub.close()
    assert subscribe(hub, listener.port, ext="ext-2")[0] == 403


def test_init_events_are_replayed_to_a_new_subscriber(hub: TelemetryHub, listener: Listener) -> None:
    """A subscriber gets the Init events emitted before it subscribed (initStart first), exactly once."""
    hub.emit("platform.initStart", {"phase": "init", "initializationType": "on-demand"})
    hub.log_line("extension", "ext starting", request_id=None)
    subscribe(hub, listener.port, types=("platform",), timeoutMs=25)
    hub.emit("platform.initReport", {"phase": "init", "status": "success", "metrics": {"durationMs": 1.0}})
    assert listener.wait_types("platform.initReport")
    hub.flush(WAIT_S)
    assert [e["type"] for e in listener.events] == [
        "platform.initStart",
        "platform.telemetrySubscription",
        "platform.initReport",
    ]


def test_invoke_events_are_not_replayed(hub: TelemetryHub, listener: Listener) -> None:
    """Replay stops at the first platform.start: invoke-phase events never reach a late subscriber."""
    hub.emit("platform.initStart", {"phase": "init"})
    hub.emit("platform.start", {"requestId": "r1"})
    hub.emit("platform.report", {"requestId": "r1", "status": "success", "metrics": {}})
    subscribe(hub, listener.port, types=("platform",), timeoutMs=25)
    assert listener.wait_types("platform.telemetrySubscription")
    hub.flush(WAIT_S)
    assert [e["type"] for e in listener.events] == ["platform.telemetrySubscription"]


def test_flush_forces_out_what_was_buffered_and_leaves_later_events_to_the_buffering() -> None:
    """A flush delivers the events buffered when it started, in one batch here; events that arrive while
    that batch is on the wire wait for the subscription's timeoutMs, not one POST each."""
    release = threading.Event()
    in_post = threading.Event()
    posts: list[int] = []

    def post(sub: Subscription, body: bytes) -> bool:
        posts.append(len(json.loads(body)))
        in_post.set()
        return release.wait(WAIT_S)

    hub = TelemetryHub(post=post)
    body = {
        "schemaVersion": "2022-12-13",
        "types": ["function"],
        "buffering": {"maxItems": 1000, "timeoutMs": 30000},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080"},
    }
    assert hub.handle_subscribe("telemetry", "id", "ext", json.dumps(body).encode(), is_open=True)[0] == 200
    for n in range(5):
        hub.log_line("function", f"before {n}", request_id="r")
    flusher = threading.Thread(target=hub.flush, args=(WAIT_S,))
    flusher.start()
    assert in_post.wait(WAIT_S)
    for n in range(5):
        hub.log_line("function", f"during {n}", request_id="r")
    release.set()
    flusher.join(WAIT_S)
    assert not flusher.is_alive()
    assert posts == [5]
    hub.close()
