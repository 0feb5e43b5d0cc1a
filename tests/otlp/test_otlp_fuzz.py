"""Fuzzing the decoders: whatever the bytes, the only exception is OtlpDecodeError."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_strategies import request

from zerolag.otlp import SIGNALS, OtlpDecodeError, jsoncodec, wire
from zerolag.otlp import protobuf as pb

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _outcome(func: object, *args: object) -> bool:
    """True when the call succeeds, False on OtlpDecodeError; anything else propagates and fails."""
    try:
        func(*args)  # type: ignore[operator]
    except OtlpDecodeError:
        return False
    return True


@pytest.mark.parametrize("signal", SIGNALS)
def test_random_bytes_raise_only_decode_errors(signal: str) -> None:
    """Random bytes either decode or raise OtlpDecodeError, in decode, count_items and split."""

    @SETTINGS
    @given(st.binary(max_size=200))
    def check(data: bytes) -> None:
        _outcome(pb.decode, signal, data)
        _outcome(wire.count_items, signal, data)
        _outcome(wire.split, signal, data, 50)

    check()


@pytest.mark.parametrize("signal", SIGNALS)
def test_mutated_requests_raise_only_decode_errors(signal: str) -> None:
    """Bit flips, byte overwrites and truncations of valid requests never raise anything else, and
    count_items never rejects what decode accepts."""

    @SETTINGS
    @given(request(signal), st.data())
    def check(req: dict, data: st.DataObject) -> None:
        raw = bytearray(pb.encode(signal, req))
        if raw:
            for _ in range(data.draw(st.integers(1, 4))):
                index = data.draw(st.integers(0, len(raw) - 1))
                if data.draw(st.booleans()):
                    raw[index] ^= 1 << data.draw(st.integers(0, 7))
                else:
                    raw[index] = data.draw(st.integers(0, 255))
            del raw[data.draw(st.integers(0, len(raw))) :]
        decoded = _outcome(pb.decode, signal, bytes(raw))
        counted = _outcome(wire.count_items, signal, bytes(raw))
        assert counted or not decoded

    check()


@SETTINGS
@given(st.binary(max_size=100))
def test_random_bytes_as_any_message(data: bytes) -> None:
    """Every message type of the schema decodes random bytes or raises OtlpDecodeError."""
    from zerolag.otlp._schema import MESSAGES

    for name in MESSAGES:
        _outcome(pb.decode_message, name, data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = ["resourceSpans", "scopeSpans", "spans", "traceId", "kind", "attributes", "value", "intValue", "key"]


@pytest.mark.parametrize("signal", SIGNALS)
def test_json_loads_raises_only_decode_errors(signal: str) -> None:
    """Random JSON documents (OTLP keys mixed in) and random bytes load or raise OtlpDecodeError."""
    import json

    otlp_like = st.recursive(
        json_values,
        lambda children: (
            st.dictionaries(st.sampled_from(_KEYS), children, max_size=4) | st.lists(children, max_size=3)
        ),
        max_leaves=30,
    )

    @SETTINGS
    @given(otlp_like, st.binary(max_size=40))
    def check(doc: object, noise: bytes) -> None:
        _outcome(jsoncodec.loads, signal, json.dumps(doc).encode())
        _outcome(jsoncodec.loads, signal, noise)

    check()
