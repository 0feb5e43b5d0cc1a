"""Subscription validation for the Telemetry API and the Logs API (contract section 3), every error case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from zerolag.emulator.telemetry import TelemetryHub
from zerolag.emulator.telemetry_subscription import SubscriptionError, parse_subscription
from zerolag.lambda_wire import (
    ERR_LOGS_CLOSED,
    ERR_LOGS_VALIDATION,
    ERR_TELEMETRY_CLOSED,
    ERR_TELEMETRY_VALIDATION,
    TELEMETRY_SCHEMAS,
)


def body(**overrides: Any) -> bytes:
    doc: dict[str, Any] = {
        "schemaVersion": "2022-12-13",
        "types": ["platform", "function"],
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/in"},
    }
    for key, value in overrides.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


def dest(uri: str, protocol: str = "HTTP") -> dict[str, str]:
    return {"protocol": protocol, "URI": uri}


def test_defaults_and_loopback_mapping() -> None:
    """A minimal body gets the default buffering and a destination mapped to 127.0.0.1."""
    sub = parse_subscription("telemetry", body())
    assert (sub.max_items, sub.max_bytes, sub.timeout_ms) == (10000, 262144, 1000)
    assert (sub.host, sub.port, sub.path) == ("127.0.0.1", 8080, "/in")
    assert sub.types == ("platform", "function")
    assert sub.schema_version == "2022-12-13"


@pytest.mark.parametrize("schema", TELEMETRY_SCHEMAS)
def test_every_telemetry_schema_is_accepted(schema: str) -> None:
    """Schemas 2022-07-01, 2022-12-13 and 2025-01-29 are accepted."""
    assert parse_subscription("telemetry", body(schemaVersion=schema)).schema_version == schema


def test_logs_api_schema_is_optional() -> None:
    """The Logs API defaults schemaVersion to 2020-08-15 and accepts 2021-03-18."""
    assert parse_subscription("logs", body(schemaVersion=None)).schema_version == "2020-08-15"
    assert parse_subscription("logs", body(schemaVersion="2021-03-18")).schema_version == "2021-03-18"


def test_limits_at_the_edges_are_accepted() -> None:
    """Buffering values exactly at the documented minimums and maximums are valid."""
    low = parse_subscription(
        "telemetry", body(buffering={"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25})
    )
    high = parse_subscription(
        "telemetry", body(buffering={"maxItems": 10000, "maxBytes": 1048576, "timeoutMs": 30000})
    )
    assert (low.max_items, low.max_bytes, low.timeout_ms) == (1000, 262144, 25)
    assert (high.max_items, high.max_bytes, high.timeout_ms) == (10000, 1048576, 30000)


def test_uri_without_port_or_path_defaults() -> None:
    """A URI without port or path means port 80 and path "/"; a query string is kept."""
    sub = parse_subscription("telemetry", body(destination=dest("http://sandbox")))
    assert (sub.port, sub.path) == (80, "/")
    assert parse_subscription("telemetry", body(destination=dest("http://sandbox:81/a?b=1"))).path == "/a?b=1"


INVALID: list[tuple[str, bytes]] = [
    ("malformed JSON", b"{not json"),
    ("not UTF-8", b"\xff\xfe"),
    ("not an object", b"[]"),
    ("missing schemaVersion", body(schemaVersion=None)),
    ("unknown schemaVersion", body(schemaVersion="2020-08-15")),
    ("missing types", body(types=None)),
    ("empty types", body(types=[])),
    ("types not a list", body(types="platform")),
    ("unknown type", body(types=["platform", "metrics"])),
    ("buffering not an object", body(buffering=[1])),
    ("maxItems too small", body(buffering={"maxItems": 999})),
    ("maxItems too large", body(buffering={"maxItems": 10001})),
    ("maxItems not an int", body(buffering={"maxItems": "1000"})),
    ("maxItems a bool", body(buffering={"maxItems": True})),
    ("maxBytes too small", body(buffering={"maxBytes": 262143})),
    ("maxBytes too large", body(buffering={"maxBytes": 1048577})),
    ("timeoutMs too small", body(buffering={"timeoutMs": 24})),
    ("timeoutMs too large", body(buffering={"timeoutMs": 30001})),
    ("timeoutMs a float", body(buffering={"timeoutMs": 100.5})),
    ("missing destination", body(destination=None)),
    ("destination not an object", body(destination="http://sandbox:8080")),
    ("protocol TCP", body(destination={"protocol": "TCP", "port": 8080})),
    ("missing protocol", body(destination={"URI": "http://sandbox:8080"})),
    ("missing URI", body(destination={"protocol": "HTTP"})),
    ("https", body(destination=dest("https://sandbox.localdomain:8080"))),
    ("outside host", body(destination=dest("http://example.com:8080"))),
    ("bad port", body(destination=dest("http://sandbox:notaport"))),
    ("reserved port", body(destination=dest("http://sandbox:9001"))),
]


@pytest.mark.parametrize(("case", "raw"), INVALID, ids=[c for c, _ in INVALID])
def test_invalid_telemetry_bodies_are_validation_errors(case: str, raw: bytes) -> None:
    """Every invalid Telemetry API body is refused with 400 ValidationError."""
    with pytest.raises(SubscriptionError) as info:
        parse_subscription("telemetry", raw)
    assert (info.value.status, info.value.error_type) == (400, ERR_TELEMETRY_VALIDATION)
    assert info.value.message


def test_invalid_logs_bodies_use_the_logs_error_type() -> None:
    """Logs API refusals carry Logs.ValidationError, including an unknown Logs schema."""
    for raw in (b"{", body(schemaVersion="2022-07-01"), body(types=[])):
        with pytest.raises(SubscriptionError) as info:
            parse_subscription("logs", raw)
        assert (info.value.status, info.value.error_type) == (400, ERR_LOGS_VALIDATION)


@pytest.fixture
def hub() -> Iterator[TelemetryHub]:
    h = TelemetryHub(post=lambda sub, payload: True)
    yield h
    h.close()


def reply(
    hub: TelemetryHub, api: str, raw: bytes, *, ext: str = "id-1", is_open: bool = True
) -> tuple[int, Any]:
    status, payload = hub.handle_subscribe(api, ext, "my-ext", raw, is_open=is_open)
    return status, json.loads(payload)


def test_hub_success_is_200_ok_and_announces_the_subscription(hub: TelemetryHub) -> None:
    """A valid subscription answers 200 "OK" and emits platform.telemetrySubscription (name, state, types)."""
    assert reply(hub, "telemetry", body()) == (200, "OK")
    assert hub.events[-1]["type"] == "platform.telemetrySubscription"
    assert hub.events[-1]["record"] == {
        "name": "my-ext",
        "state": "Subscribed",
        "types": ["platform", "function"],
    }


def test_hub_logs_subscription_is_not_a_telemetry_event(hub: TelemetryHub) -> None:
    """A Logs API subscription answers 200 "OK"; platform.logsSubscription is a Logs API-only event."""
    assert reply(hub, "logs", body(schemaVersion=None)) == (200, "OK")
    assert hub.events == []


@pytest.mark.parametrize(
    ("api", "error_type"), [("telemetry", ERR_TELEMETRY_CLOSED), ("logs", ERR_LOGS_CLOSED)]
)
def test_hub_refuses_after_init(hub: TelemetryHub, api: str, error_type: str) -> None:
    """Once Init is over (is_open False) a subscription gets 403 SubscriptionClosed for its API."""
    status, payload = reply(hub, api, body(), is_open=False)
    assert (status, payload["errorType"]) == (403, error_type)
    assert payload["errorMessage"]


@pytest.mark.parametrize(
    ("api", "error_type"), [("telemetry", ERR_TELEMETRY_VALIDATION), ("logs", ERR_LOGS_VALIDATION)]
)
def test_hub_malformed_json_is_400(hub: TelemetryHub, api: str, error_type: str) -> None:
    """Malformed JSON gets 400 with the API's validation error type, and nothing is subscribed."""
    status, payload = reply(hub, api, b"{oops")
    assert (status, payload["errorType"]) == (400, error_type)
    assert hub.subscriptions() == []


def test_hub_one_extension_cannot_use_both_apis(hub: TelemetryHub) -> None:
    """An extension subscribed through the Telemetry API cannot use the Logs API too, and vice versa."""
    assert reply(hub, "telemetry", body())[0] == 200
    status, payload = reply(hub, "logs", body(schemaVersion=None))
    assert (status, payload["errorType"]) == (400, ERR_LOGS_VALIDATION)
    assert reply(hub, "logs", body(schemaVersion=None), ext="id-2")[0] == 200
    status, payload = reply(hub, "telemetry", body(), ext="id-2")
    assert (status, payload["errorType"]) == (400, ERR_TELEMETRY_VALIDATION)


def test_hub_resubscribing_replaces_the_subscription(hub: TelemetryHub) -> None:
    """A second subscription by the same extension on the same API replaces the first."""
    reply(hub, "telemetry", body())
    reply(hub, "telemetry", body(types=["extension"]))
    assert [s.types for s in hub.subscriptions()] == [("extension",)]
