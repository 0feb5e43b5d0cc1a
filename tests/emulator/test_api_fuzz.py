"""Bad input never crashes the emulator (issue 2, "Done when"): arbitrary methods, paths, headers and bodies
on the sandbox's API server get an HTTP reply whose error body is the contract's JSON, and the server keeps
serving. Also malformed subscribe bodies through the real TelemetryHub."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from api_harness import Harness
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerolag import lambda_wire as wire

PATHS = [
    wire.RUNTIME_NEXT,
    wire.RUNTIME_RESPONSE.format(request_id="x"),
    wire.RUNTIME_ERROR.format(request_id="x"),
    wire.RUNTIME_INIT_ERROR,
    wire.EXTENSION_REGISTER,
    wire.EXTENSION_INIT_ERROR,
    wire.EXTENSION_EXIT_ERROR,
    wire.TELEMETRY_SUBSCRIBE,
    wire.LOGS_SUBSCRIBE,
    "/",
    "/2018-06-01/runtime/invocation//response",
    "/2020-01-01/extension/../register",
]
HEADER_NAMES = [
    wire.H_EXTENSION_NAME,
    wire.H_EXTENSION_ID,
    wire.H_EXTENSION_ERROR_TYPE,
    wire.H_EXTENSION_ACCEPT_FEATURE,
    wire.H_FUNCTION_ERROR_TYPE,
    wire.H_RESPONSE_MODE,
    "Content-Type",
]
header_value = st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40)


@pytest.fixture(scope="module")
def h() -> Iterator[Harness]:
    harness = Harness(frozenset({"ext-a"}))
    yield harness
    harness.close()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    method=st.sampled_from(["POST", "PUT", "DELETE", "PATCH"]),
    path=st.sampled_from(PATHS),
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), header_value, max_size=4),
    body=st.one_of(st.binary(max_size=300), st.just(b"{"), st.just(b"[]"), st.just(b'{"events": [1]}')),
)
def test_arbitrary_requests_get_contract_errors(
    h: Harness, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    """Any non-blocking request is answered; 4xx/5xx bodies are {"errorMessage","errorType"}."""
    reply = h.request(method, path, body, headers)
    assert 200 <= reply.status < 600
    if reply.status >= 400:
        doc = json.loads(reply.body)
        assert set(doc) == {"errorMessage", "errorType"}
    assert h.request("GET", "/nope").status == 404  # still serving


def test_malformed_subscription_through_real_hub() -> None:
    """Malformed JSON on PUT /2022-07-01/telemetry → 400 ValidationError from the real hub, no crash."""
    from zerolag.emulator.seams import make_hub

    harness = Harness(frozenset({"ext-a"}))
    try:
        harness.gen.hub = make_hub("Text")
        reg = harness.register("ext-a", ["INVOKE"])
        ext_id = reg.header(wire.H_EXTENSION_ID) or ""
        reply = harness.request("PUT", wire.TELEMETRY_SUBSCRIBE, b"{bad", {wire.H_EXTENSION_ID: ext_id})
        assert reply.status == 400
        assert reply.json()["errorType"] == wire.ERR_TELEMETRY_VALIDATION
        logs = harness.request("PUT", wire.LOGS_SUBSCRIBE, b"[]", {wire.H_EXTENSION_ID: ext_id})
        assert logs.status == 400
    finally:
        harness.gen.hub.close()
        harness.close()
