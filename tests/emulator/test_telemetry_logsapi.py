"""Telemetry API events translated to Logs API 2020-08-15 / 2021-03-18 shapes (contract section 3)."""

from __future__ import annotations

from typing import Any

import pytest

from zerolag.emulator.telemetry_logsapi import fault_text, to_logs_api
from zerolag.lambda_wire import TelemetryEvent

T = "2024-01-01T00:00:00.000Z"


def ev(kind: str, record: Any) -> TelemetryEvent:
    return {"time": T, "type": kind, "record": record}


def kinds(events: list[TelemetryEvent]) -> list[str]:
    return [e["type"] for e in events]


@pytest.mark.parametrize("kind", ["platform.initStart", "platform.initRuntimeDone", "platform.initReport"])
def test_init_events_have_no_logs_api_form(kind: str) -> None:
    """Init events are Telemetry API-only."""
    assert to_logs_api(ev(kind, {"phase": "init"}), "2021-03-18") == []


def test_start_keeps_request_id_and_version() -> None:
    """platform.start becomes {requestId[, version]}, without tracing."""
    out = to_logs_api(
        ev("platform.start", {"requestId": "r", "version": "$LATEST", "tracing": {}}), "2020-08-15"
    )
    assert out == [ev("platform.start", {"requestId": "r", "version": "$LATEST"})]


def test_runtime_done_only_with_schema_2021_03_18() -> None:
    """platform.runtimeDone exists only in schema 2021-03-18, as {requestId, status} with error -> failure."""
    record = {"requestId": "r", "status": "error", "metrics": {"durationMs": 1.0}, "spans": []}
    assert to_logs_api(ev("platform.runtimeDone", record), "2020-08-15") == []
    assert to_logs_api(ev("platform.runtimeDone", record), "2021-03-18") == [
        ev("platform.runtimeDone", {"requestId": "r", "status": "failure"})
    ]
    ok = to_logs_api(ev("platform.runtimeDone", {"requestId": "r", "status": "success"}), "2021-03-18")
    assert ok[0]["record"] == {"requestId": "r", "status": "success"}


def test_report_becomes_end_then_report() -> None:
    """A successful platform.report becomes platform.end, then platform.report{requestId, metrics}."""
    metrics = {"durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128, "maxMemoryUsedMB": 30}
    record = {
        "requestId": "r",
        "status": "success",
        "metrics": metrics,
        "spans": [{"name": "extensionOverhead"}],
    }
    out = to_logs_api(ev("platform.report", record), "2020-08-15")
    assert out == [
        ev("platform.end", {"requestId": "r"}),
        ev("platform.report", {"requestId": "r", "metrics": metrics}),
    ]


@pytest.mark.parametrize(
    ("status", "error_type", "expected"),
    [
        ("timeout", None, "RequestId: r Error: Sandbox.Timedout"),
        ("failure", "Runtime.ExitError", "RequestId: r Error: Runtime.ExitError"),
        ("failure", None, "RequestId: r Error: Runtime.Unknown"),
        ("error", "Runtime.OutOfMemory", "RequestId: r Error: Runtime.OutOfMemory"),
    ],
)
def test_failed_report_adds_a_fault_string(status: str, error_type: str | None, expected: str) -> None:
    """A report with status failure or timeout is followed by platform.fault whose record is a string."""
    record = {"requestId": "r", "status": status, "errorType": error_type, "metrics": {}}
    out = to_logs_api(ev("platform.report", record), "2020-08-15")
    assert kinds(out) == ["platform.end", "platform.report", "platform.fault"]
    assert out[2]["record"] == expected


def test_function_error_is_not_a_fault() -> None:
    """A handler error (status error) is not a platform fault."""
    assert fault_text({"requestId": "r", "status": "error", "errorType": "ValueError"}) is None


@pytest.mark.parametrize(
    "event",
    [
        ev("platform.extension", {"name": "x", "state": "Ready", "events": ["INVOKE"]}),
        ev("platform.logsDropped", {"droppedBytes": 1, "droppedRecords": 1, "reason": "r"}),
        ev("platform.logsSubscription", {"name": "x", "state": "Subscribed", "types": ["platform"]}),
        ev("platform.fault", "RequestId: r Error: x"),
        ev("function", "a line"),
        ev("extension", "an extension line"),
    ],
)
def test_shared_events_pass_through(event: TelemetryEvent) -> None:
    """extension, logsDropped, logsSubscription, fault and log lines are the same in both APIs."""
    assert to_logs_api(event, "2020-08-15") == [event]


def test_telemetry_only_platform_events_are_dropped() -> None:
    """telemetrySubscription and unknown or malformed platform events never reach the Logs API."""
    assert to_logs_api(ev("platform.telemetrySubscription", {"name": "x"}), "2021-03-18") == []
    assert to_logs_api(ev("platform.restoreStart", {}), "2021-03-18") == []
    assert to_logs_api(ev("platform.start", "not an object"), "2021-03-18") == []
