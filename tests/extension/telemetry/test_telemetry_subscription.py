"""Subscribing to the Telemetry API: newest schema first, fallback on ValidationError, clear refusal."""

from __future__ import annotations

import socket
from typing import Any

from zerolag.extension.telemetry.subscription import BUFFERING, subscribe
from zerolag.lambda_wire import TELEMETRY_MAX_ITEMS, TELEMETRY_TIMEOUT_MS


def test_newest_schema_is_used_when_accepted(api_factory: Any) -> None:
    """The first PUT asks for 2025-01-29 with platform/function/extension, HTTP sandbox URI and buffering."""
    api = api_factory({"2025-01-29", "2022-12-13", "2022-07-01"})
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:4321")
    assert result.ok
    assert result.schema == "2025-01-29"
    (body,) = api.bodies
    assert body["types"] == ["platform", "function", "extension"]
    assert body["destination"] == {"protocol": "HTTP", "URI": "http://sandbox.localdomain:4321"}
    assert api.headers[0]["Lambda-Extension-Identifier"] == "ext-id"
    assert TELEMETRY_MAX_ITEMS[0] <= body["buffering"]["maxItems"] <= TELEMETRY_MAX_ITEMS[1]
    assert TELEMETRY_TIMEOUT_MS[0] <= body["buffering"]["timeoutMs"] <= TELEMETRY_TIMEOUT_MS[1]
    assert body["buffering"] == BUFFERING


def test_falls_back_to_older_schema_on_validation_error(api_factory: Any) -> None:
    """A platform that knows only 2022-07-01 gets it after two ValidationErrors."""
    api = api_factory({"2022-07-01"})
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:1")
    assert result.schema == "2022-07-01"
    assert [b["schemaVersion"] for b in api.bodies] == ["2025-01-29", "2022-12-13", "2022-07-01"]


def test_rie_not_supported_stub_is_a_refusal(api_factory: Any) -> None:
    """RIE's 202 Telemetry.NotSupported is reported as refused, with the error type, after one try."""
    api = api_factory(set(), rie_stub=True)
    result = subscribe(api.address, "ext-id", "http://sandbox.localdomain:1")
    assert not result.ok
    assert "Telemetry.NotSupported" in result.message
    assert len(api.bodies) == 1


def test_unreachable_api_is_a_refusal_not_an_exception() -> None:
    """A closed port gives a refused result naming the connection error."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = subscribe(f"127.0.0.1:{port}", "ext-id", "http://sandbox.localdomain:1", timeout=5)
    assert not result.ok
    assert result.status == 0
    assert "Error" in result.message
