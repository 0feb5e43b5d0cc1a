"""``check.check`` refuses exactly what ``protobuf.decode`` refuses, and ``jsonstream.to_protobuf`` gives what
``jsoncodec.loads`` + ``protobuf.encode`` give, in bounded memory."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_strategies import request

from zerolag.otlp import SIGNALS, OtlpDecodeError, check, jsoncodec, jsonstream
from zerolag.otlp import protobuf as pb

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SMALL_SCAN = 256 * 1024  # the smallest scan cost: forces the field-by-field walk on anything larger


def _span(name: bytes = b"ok", trace_id: bytes = b"\x01" * 16, span_id: bytes = b"\x02" * 8) -> bytes:
    """A protobuf traces request with one span, built by hand so it can hold what the encoder refuses."""

    def field(number: int, value: bytes) -> bytes:
        return bytes([number << 3 | 2, len(value)]) + value

    span = field(1, trace_id) + field(2, span_id) + field(5, name)
    return field(1, field(2, field(2, span)))


def _nested_attribute(levels: int) -> dict:
    value: dict = {"stringValue": "leaf"}
    for _ in range(levels):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    return {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"name": "n", "attributes": [{"key": "a", "value": value}]}]}]}
        ]
    }


def test_check_accepts_a_good_request_and_counts_it() -> None:
    assert check.check("traces", _span()) == 1


@pytest.mark.parametrize(
    "data",
    [
        _span(name=b"\xff\xfe bad"),  # not UTF-8
        _span(trace_id=b"\x01" * 15),  # a trace id of 15 bytes
        _span(span_id=b"\x02" * 9),  # a span id of 9 bytes
        _span()[:-1],  # truncated
    ],
)
def test_check_refuses_what_a_backend_refuses(data: bytes) -> None:
    with pytest.raises(OtlpDecodeError):
        pb.decode("traces", data)
    with pytest.raises(OtlpDecodeError):
        check.check("traces", data)


def test_nesting_over_64_is_refused_by_check_and_by_jsonstream_like_the_decoders() -> None:
    """Depth 64 counts messages; each attribute level costs three: 19 levels fit, 21 do not."""
    ok, deep = _nested_attribute(19), _nested_attribute(21)
    assert check.check("traces", pb.encode("traces", ok)) == 1
    with pytest.raises(OtlpDecodeError):
        pb.decode("traces", pb.encode("traces", deep))
    with pytest.raises(OtlpDecodeError):
        check.check("traces", pb.encode("traces", deep))
    for scan in (SMALL_SCAN, 1 << 30):
        assert jsonstream.to_protobuf("traces", jsoncodec.dumps(ok), scan)[1] == 1
        with pytest.raises(OtlpDecodeError):
            jsonstream.to_protobuf("traces", jsoncodec.dumps(deep), scan)


@pytest.mark.parametrize("signal", SIGNALS)
def test_check_agrees_with_decode_on_damaged_input(signal: str) -> None:
    @SETTINGS
    @given(request(signal), st.data())
    def run(req: dict, data: st.DataObject) -> None:
        raw = bytearray(pb.encode(signal, req))
        if raw:
            for _ in range(data.draw(st.integers(0, 3))):
                raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
        try:
            decoded = pb.decode(signal, bytes(raw))
        except OtlpDecodeError:
            with pytest.raises(OtlpDecodeError):
                check.check(signal, bytes(raw))
            return
        from test_otlp_wire import true_count

        assert check.check(signal, bytes(raw)) == true_count(signal, decoded)

    run()


@pytest.mark.parametrize("signal", SIGNALS)
def test_jsonstream_equals_loads_then_encode(signal: str) -> None:
    @SETTINGS
    @given(request(signal), st.sampled_from([SMALL_SCAN, 1 << 30]), st.booleans())
    def run(req: dict, scan: int, pretty: bool) -> None:
        text = jsoncodec.dumps(req)
        if pretty:
            text = json.dumps(json.loads(text), indent=2).encode()
        expected = pb.encode(signal, jsoncodec.loads(signal, text))
        out, _items = jsonstream.to_protobuf(signal, text, scan)
        assert pb.decode(signal, out) == pb.decode(signal, expected)

    run()


@pytest.mark.parametrize(
    "text",
    [
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\\ud800"}]}]}]}',  # a lone surrogate
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "\xff"}]}]}]}',  # not UTF-8
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abc"}]}]}]}',  # a bad id
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x"}]}]}]',  # truncated
        b'{"resourceSpans": [] } trailing',
        b"[]",
    ],
)
def test_jsonstream_refuses_bad_requests_in_both_modes(text: bytes) -> None:
    for scan in (SMALL_SCAN, 1 << 30):
        with pytest.raises(OtlpDecodeError):
            jsonstream.to_protobuf("traces", text, scan)


def _big_request(spans: int) -> bytes:
    items = [
        {
            "traceId": f"{i + 1:032x}",
            "spanId": f"{i + 1:016x}",
            "name": f"s{i}",
            "attributes": [{"key": f"k{k}", "value": {"stringValue": f"v{k}"}} for k in range(8)],
        }
        for i in range(spans)
    ]
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": items}]}]}).encode()


def test_jsonstream_memory_stays_near_the_scan_cost_while_loads_grows_with_the_body() -> None:
    text = _big_request(6000)  # ~3.5 MB of JSON
    tracemalloc.start()
    try:
        jsoncodec.loads("traces", text)
        whole = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        out, items = jsonstream.to_protobuf("traces", text, 1024 * 1024)
        streamed = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert items == 6000
    assert whole > 8 * len(text)
    assert streamed < len(out) * 2 + 2 * 1024 * 1024


def test_a_single_huge_string_is_too_large_not_a_crash() -> None:
    text = b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "' + b"x" * 2_000_000 + b'"}]}]}]}'
    with pytest.raises(jsonstream.TooLarge):
        jsonstream.to_protobuf("traces", text, SMALL_SCAN)
    assert jsonstream.to_protobuf("traces", text, 8 * 1024 * 1024)[1] == 1


def test_an_attribute_with_an_overlong_varint_is_refused_like_decode_does() -> None:
    """The fast path for plain attributes has no last word: an 11-byte varint goes to the full check."""

    def field(number: int, value: bytes) -> bytes:
        return bytes([number << 3 | 2, len(value)]) + value

    kv = field(1, b"k") + bytes([0x12, 12, 0x18]) + b"\xff" * 10 + b"\x01"
    data = field(1, field(2, field(2, field(9, kv))))
    with pytest.raises(OtlpDecodeError):
        pb.decode("traces", data)
    with pytest.raises(OtlpDecodeError):
        check.check("traces", data)
