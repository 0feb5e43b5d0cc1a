"""Extensions API 2020-01-01 and the subscribe routes over real HTTP on loopback (contract section 2,
"Extensions API 2020-01-01"; section 3 for the subscribe endpoints)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from api_harness import WAIT_S, Harness

from zerolag import lambda_wire as wire


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness(frozenset({"ext-a", "ext-b"}))
    yield harness
    harness.close()


def _id(h: Harness, name: str = "ext-a", events: list[str] | None = None) -> str:
    reply = h.register(name, ["INVOKE", "SHUTDOWN"] if events is None else events)
    assert reply.status == 200, reply.body
    ext_id = reply.header(wire.H_EXTENSION_ID)
    assert ext_id is not None
    return ext_id


def _error_type(reply: object) -> str:
    return str(reply.json()["errorType"])  # type: ignore[attr-defined]


def test_register_returns_identifier_and_function_info(h: Harness) -> None:
    """register → 200, a UUID identifier header and functionName/functionVersion/handler (no accountId)."""
    reply = h.register("ext-a", ["INVOKE"])
    assert reply.status == 200
    uuid.UUID(reply.header(wire.H_EXTENSION_ID) or "")
    assert reply.json() == {"functionName": "fn", "functionVersion": "$LATEST", "handler": "app.handler"}


def test_register_with_account_id_feature(h: Harness) -> None:
    """Lambda-Extension-Accept-Feature: accountId adds accountId to the body."""
    reply = h.register("ext-a", ["INVOKE"], features="something, accountId")
    assert reply.json()["accountId"] == "1"


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        ("", b'{"events":["INVOKE"]}', wire.ERR_EXT_INVALID_NAME),
        ("ext-a", b"{not json", wire.ERR_INVALID_REQUEST_FORMAT),
        ("ext-a", b'{"events":["INVOKE"],"configurationKeys":["x"]}', wire.ERR_INVALID_REQUEST_FORMAT),
        ("ext-a", b'{"events":"INVOKE"}', wire.ERR_INVALID_REQUEST_FORMAT),
        ("ext-a", b'{"events":["BOOT"]}', wire.ERR_EXT_INVALID_EVENT_TYPE),
        ("internal-x", b'{"events":["SHUTDOWN"]}', wire.ERR_EXT_INVALID_EVENT_TYPE),
    ],
)
def test_register_errors(h: Harness, name: str, body: bytes, expected: str) -> None:
    """Bad registrations get 403 with the contract's errorType."""
    headers = {wire.H_EXTENSION_NAME: name} if name else {}
    reply = h.request("POST", wire.EXTENSION_REGISTER, body, headers)
    assert reply.status == 403
    assert reply.json()["errorType"] == expected
    assert set(reply.json()) == {"errorMessage", "errorType"}


def test_duplicate_registration(h: Harness) -> None:
    """Registering the same name twice → 403 Extension.InvalidExtensionState."""
    _id(h)
    reply = h.register("ext-a", ["INVOKE"])
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_INVALID_STATE)


def test_internal_extension_registers_with_any_name(h: Harness) -> None:
    """A name that matches no file in /opt/extensions registers as an internal extension (INVOKE only)."""
    ext_id = _id(h, "my-internal", ["INVOKE"])
    assert h.core.registry.by_id[ext_id].internal


def test_at_most_ten_extensions(h: Harness) -> None:
    """The eleventh registration → 403 Extension.TooManyExtensions."""
    for i in range(wire.MAX_EXTENSIONS):
        _id(h, f"internal-{i}", ["INVOKE"])
    reply = h.register("one-too-many", ["INVOKE"])
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_TOO_MANY)
    assert reply.json()["errorMessage"] == "Extension limit (10) reached"


@pytest.mark.parametrize(
    ("ext_id", "expected"),
    [
        (None, wire.ERR_EXT_MISSING_ID),
        ("not-a-uuid", wire.ERR_EXT_INVALID_ID),
        (str(uuid.uuid4()), wire.ERR_EXT_UNKNOWN_ID),
    ],
)
def test_next_identifier_errors(h: Harness, ext_id: str | None, expected: str) -> None:
    """event/next with a missing, malformed or unknown identifier → 403 with the matching errorType."""
    headers = {wire.H_EXTENSION_ID: ext_id} if ext_id else {}
    reply = h.request("GET", wire.EXTENSION_NEXT, headers=headers)
    assert (reply.status, _error_type(reply)) == (403, expected)


def test_invoke_event_reaches_extension(h: Harness) -> None:
    """An INVOKE subscriber's /next returns the event with Content-Type JSON and an event identifier."""
    ext_id = _id(h)
    fut = h.ext_next(ext_id)
    h.wait(lambda: h.core.registry.by_id[ext_id].waiting)
    h.invoke()
    reply = fut.result(WAIT_S)
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    uuid.UUID(reply.header(wire.H_EXTENSION_EVENT_ID) or "")
    assert reply.json()["eventType"] == "INVOKE"
    assert reply.json()["requestId"] == "req-1"


def test_invocation_waits_for_invoke_subscribers(h: Harness) -> None:
    """The invocation is pending until the subscribed extension calls /next again."""
    ext_id = _id(h)
    fut = h.ext_next(ext_id)
    h.wait(lambda: h.core.registry.by_id[ext_id].waiting)
    inv = h.invoke()
    fut.result(WAIT_S)
    assert inv.extensions_done_at is None
    assert inv.pending_extensions == {ext_id}
    h.ext_next(ext_id)
    h.wait(lambda: inv.extensions_done_at is not None)


def test_shutdown_event_is_lowercase(h: Harness) -> None:
    """SHUTDOWN carries a lowercase shutdownReason and a deadlineMs."""
    ext_id = _id(h)
    fut = h.ext_next(ext_id)
    h.wait(lambda: h.core.registry.by_id[ext_id].waiting)
    h.core.send_shutdown({"eventType": "SHUTDOWN", "deadlineMs": 1, "shutdownReason": "spindown"})
    assert fut.result(WAIT_S).json() == {
        "eventType": "SHUTDOWN",
        "deadlineMs": 1,
        "shutdownReason": "spindown",
    }


def test_concurrent_next_is_invalid_state(h: Harness) -> None:
    """A second /next while one is pending → 403 Extension.InvalidExtensionState."""
    ext_id = _id(h)
    h.ext_next(ext_id)
    h.wait(lambda: h.core.registry.by_id[ext_id].waiting)
    reply = h.request("GET", wire.EXTENSION_NEXT, headers={wire.H_EXTENSION_ID: ext_id})
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_INVALID_STATE)


@pytest.mark.parametrize("path", [wire.EXTENSION_INIT_ERROR, wire.EXTENSION_EXIT_ERROR])
def test_error_reports(h: Harness, path: str) -> None:
    """init/error and exit/error → 202 {"status":"OK"}; later calls fail with InvalidExtensionState."""
    ext_id = _id(h)
    headers = {wire.H_EXTENSION_ID: ext_id, wire.H_EXTENSION_ERROR_TYPE: "Extension.Broken"}
    reply = h.request("POST", path, b'{"errorMessage":"x"}', headers)
    assert (reply.status, reply.json()) == (202, {"status": "OK"})
    assert h.core.registry.by_id[ext_id].error_type == "Extension.Broken"
    again = h.request("GET", wire.EXTENSION_NEXT, headers={wire.H_EXTENSION_ID: ext_id})
    assert (again.status, _error_type(again)) == (403, wire.ERR_EXT_INVALID_STATE)


@pytest.mark.parametrize("path", [wire.EXTENSION_INIT_ERROR, wire.EXTENSION_EXIT_ERROR])
def test_error_report_without_type_header(h: Harness, path: str) -> None:
    """A missing Lambda-Extension-Function-Error-Type → 403 Extension.MissingHeader."""
    ext_id = _id(h)
    reply = h.request("POST", path, b"", {wire.H_EXTENSION_ID: ext_id})
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_MISSING_HEADER)


def test_error_report_unknown_identifier(h: Harness) -> None:
    """init/error with an unknown identifier → 403 Extension.UnknownExtensionIdentifier."""
    headers = {wire.H_EXTENSION_ID: str(uuid.uuid4()), wire.H_EXTENSION_ERROR_TYPE: "Extension.X"}
    reply = h.request("POST", wire.EXTENSION_INIT_ERROR, b"", headers)
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_UNKNOWN_ID)


def test_subscribe_is_routed_to_hub_with_extension(h: Harness) -> None:
    """PUT /2022-07-01/telemetry reaches the hub with the caller's id and name; is_open during init."""
    seen: list[tuple[str, str, str, bool]] = []

    def fake(api: str, ext_id: str, name: str, body: bytes, *, is_open: bool) -> tuple[int, bytes]:
        seen.append((api, ext_id, name, is_open))
        return 200, b'"OK"'

    h.gen.hub.handle_subscribe = fake  # type: ignore[method-assign]
    ext_id = _id(h)
    body = json.dumps({"schemaVersion": "2022-12-13", "types": ["platform"]}).encode()
    reply = h.request("PUT", wire.TELEMETRY_SUBSCRIBE, body, {wire.H_EXTENSION_ID: ext_id})
    assert (reply.status, reply.body) == (200, b'"OK"')
    h.core.init_done = True
    h.request("PUT", wire.LOGS_SUBSCRIBE, body, {wire.H_EXTENSION_ID: ext_id})
    assert seen == [("telemetry", ext_id, "ext-a", True), ("logs", ext_id, "ext-a", False)]


def test_subscribe_without_identifier(h: Harness) -> None:
    """Subscribing without an identifier → 403 Extension.MissingExtensionIdentifier."""
    reply = h.request("PUT", wire.TELEMETRY_SUBSCRIBE, b"{}")
    assert (reply.status, _error_type(reply)) == (403, wire.ERR_EXT_MISSING_ID)
