"""The stdlib protobuf codec: round trips, agreement with the official messages, edge cases."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_strategies import message, official_class, request, to_official

from zerolag.otlp import SIGNALS, OtlpDecodeError, _schema
from zerolag.otlp import protobuf as pb
from zerolag.otlp._pbdec import decode_message
from zerolag.otlp._pbdectables import _compile as _compile_generic_decoders
from zerolag.otlp._pbdectables import tables
from zerolag.otlp._pbenc import compile_tables, encode_message

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GENERIC = compile_tables()
GENERIC_DEC = _compile_generic_decoders()
DEC = tables()


@pytest.mark.parametrize("signal", SIGNALS)
def test_roundtrip(signal: str) -> None:
    """dict -> encode -> decode gives the same dict, for random canonical requests of every signal."""

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        assert pb.decode(signal, pb.encode(signal, req)) == req

    check()


@pytest.mark.parametrize("signal", SIGNALS)
def test_official_parses_our_encoding(signal: str) -> None:
    """What we encode, the official opentelemetry-proto message parses to the expected message."""

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        assert official_class(signal).FromString(pb.encode(signal, req)) == to_official(signal, req)

    check()


@pytest.mark.parametrize("signal", SIGNALS)
def test_we_decode_official_encoding(signal: str) -> None:
    """What the official messages serialize, we decode to the same content."""

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        assert pb.decode(signal, to_official(signal, req).SerializeToString()) == req

    check()


@SETTINGS
@given(message("Span"))
def test_span_fast_path_matches_generic_encoder(span: dict) -> None:
    """The hand-written Span/KeyValue/AnyValue encoders produce what the schema-driven encoder does."""
    fast = pb.encode_message("Span", span)
    generic = encode_message(GENERIC["Span"], span)
    assert decode_message(DEC["Span"], fast, 0, len(fast), 0) == span
    assert decode_message(DEC["Span"], generic, 0, len(generic), 0) == span
    assert len(fast) == len(generic)


@pytest.mark.parametrize("signal", SIGNALS)
def test_concatenated_requests_decode_to_the_merged_request(signal: str) -> None:
    """Two encoded requests of one signal, concatenated, decode to one request holding both."""
    key = {"traces": "resourceSpans", "metrics": "resourceMetrics", "logs": "resourceLogs"}[signal]

    @SETTINGS
    @given(request(signal), request(signal))
    def check(a: dict, b: dict) -> None:
        merged = a.get(key, []) + b.get(key, [])
        expected = {key: merged} if merged else {}
        assert pb.decode(signal, pb.encode(signal, a) + pb.encode(signal, b)) == expected

    check()


def test_schema_matches_the_official_descriptors() -> None:
    """Every field of our schema has the number, JSON name and type of the official proto."""
    from google.protobuf.descriptor import FieldDescriptor as F

    types = {
        _schema.STRING: F.TYPE_STRING,
        _schema.ID16: F.TYPE_BYTES,
        _schema.ID8: F.TYPE_BYTES,
        _schema.B64: F.TYPE_BYTES,
        _schema.UINT32: F.TYPE_UINT32,
        _schema.ENUM: F.TYPE_ENUM,
        _schema.INT64: F.TYPE_INT64,
        _schema.UINT64: F.TYPE_UINT64,
        _schema.SINT32: F.TYPE_SINT32,
        _schema.BOOL: F.TYPE_BOOL,
        _schema.FIXED64: F.TYPE_FIXED64,
        _schema.SFIXED64: F.TYPE_SFIXED64,
        _schema.DOUBLE: F.TYPE_DOUBLE,
        _schema.FIXED32: F.TYPE_FIXED32,
    }
    seen: set[str] = set()

    def check(name: str, descriptor: object) -> None:
        if name in seen:
            return
        seen.add(name)
        official = {f.number: f for f in descriptor.fields}  # type: ignore[attr-defined]
        for number, json_name, kind, flags in _schema.MESSAGES[name]:
            field = official[number]
            assert field.json_name == json_name
            assert field.is_repeated == bool(flags & _schema.REP)
            if kind in _schema.MESSAGES:
                assert field.message_type.name == kind
                check(kind, field.message_type)
            else:
                assert field.type == types[kind], (name, json_name)
                assert field.has_presence == bool(flags & _schema.PRES), (name, json_name)

    for signal in SIGNALS:
        check(_schema.REQUEST_MESSAGE[signal], official_class(signal).DESCRIPTOR)
    assert seen == set(_schema.MESSAGES)


def test_unknown_fields_are_skipped() -> None:
    """Fields of every wire type that the schema does not know (incl. groups) are skipped on decode."""
    span = pb.encode_message("Span", {"name": "x"})
    unknown = (
        b"\xa8\x06\x96\x01"  # field 101 varint
        + b"\xb1\x06"
        + b"\x00" * 8  # field 102 fixed64
        + b"\xba\x06\x02hi"  # field 103 bytes
        + b"\xc5\x06\x00\x00\x00\x00"  # field 104 fixed32
        + b"\xcb\x06\x08\x01\xcc\x06"  # field 105 group holding field 1 varint
    )
    assert pb.decode_message("Span", span + unknown) == {"name": "x"}


def test_presence_fields_keep_zero_values() -> None:
    """Oneof members and optional fields keep their zero values; plain fields drop them."""
    point = {"asInt": 0, "sum": 0.0, "count": 0}
    assert pb.decode_message("HistogramDataPoint", pb.encode_message("HistogramDataPoint", point)) == {
        "sum": 0.0
    }
    value = {"intValue": 0}
    assert pb.decode_message("AnyValue", pb.encode_message("AnyValue", value)) == value
    assert pb.decode_message("AnyValue", pb.encode_message("AnyValue", {"stringValue": ""})) == {
        "stringValue": ""
    }


def test_unpacked_repeated_scalars_are_accepted() -> None:
    """Repeated scalars decode from both packed and unpacked encodings."""
    unpacked = b"\x31" + (5).to_bytes(8, "little") + b"\x31" + (7).to_bytes(8, "little")
    assert pb.decode_message("HistogramDataPoint", unpacked) == {"bucketCounts": [5, 7]}
    assert pb.decode_message("Buckets", b"\x10\x05\x10\x96\x01") == {"bucketCounts": [5, 150]}


def test_duplicate_fields_follow_protobuf_merge_rules() -> None:
    """A singular message seen twice merges, a scalar seen twice keeps the last, a oneof keeps the last."""
    first = pb.encode_message("Span", {"name": "a", "status": {"message": "m"}})
    second = pb.encode_message("Span", {"name": "b", "status": {"code": 2}})
    assert pb.decode_message("Span", first + second) == {"name": "b", "status": {"message": "m", "code": 2}}
    any_value = pb.encode_message("AnyValue", {"stringValue": "x"}) + pb.encode_message(
        "AnyValue", {"intValue": 3}
    )
    assert pb.decode_message("AnyValue", any_value) == {"intValue": 3}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x0a\x05\x00\x00", "length past end"),
        (b"\x39\x00\x00", "truncated fixed64"),
        (b"\x30" + b"\xff" * 11, "varint too long"),
        (b"\x30", "truncated varint"),
        (b"\x2a\x02\xff\xfe", "invalid utf-8"),
        (b"\x0a\x03abc", "trace id of wrong length"),
        (b"\x12\x09" + b"\x00" * 9, "span id of wrong length"),
        (b"\x28\x01", "wrong wire type for name"),
        (b"\x00\x00", "field number 0"),
        (b"\x0f", "invalid wire type 7"),
        (b"\xcc\x06", "stray end group"),
        (b"\xcb\x06\x08\x01", "unterminated group"),
        (b"\x7a\x02\x18", "nested message cut short"),
    ],
)
def test_malformed_input_raises_decode_error(data: bytes, why: str) -> None:
    """Each kind of malformed Span raises OtlpDecodeError."""
    with pytest.raises(OtlpDecodeError):
        pb.decode_message("Span", data)


def test_deep_recursion_raises_decode_error() -> None:
    """AnyValue arrays nested beyond the limit raise OtlpDecodeError, not RecursionError."""
    deep = b""
    for _ in range(300):  # AnyValue{arrayValue{values: [deep]}}
        values = b"\x0a" + _varint(len(deep)) + deep
        deep = b"\x2a" + _varint(len(values)) + values
    with pytest.raises(OtlpDecodeError):
        pb.decode_message("AnyValue", deep)


def _varint(n: int) -> bytes:
    from zerolag.otlp._pbenc import varint

    return varint(n)


@given(st.sampled_from(SIGNALS))
def test_empty_payload_is_an_empty_request(signal: str) -> None:
    """Zero bytes are a valid, empty request."""
    assert pb.decode(signal, b"") == {}
    assert pb.encode(signal, {}) == b""


def test_encode_rejects_bad_values() -> None:
    """Ids of the wrong length and out-of-range integers raise ValueError on encode."""
    with pytest.raises(ValueError, match="bytes"):
        pb.encode_message("Span", {"traceId": "abcd"})
    with pytest.raises(ValueError, match="encode"):
        pb.encode_message("Span", {"startTimeUnixNano": 2**64})
    with pytest.raises(ValueError, match="signal"):
        pb.encode("spans", {})  # type: ignore[arg-type]


def test_import_is_light() -> None:
    """Importing the codec, wire and model modules pulls in no google.protobuf, typing, re, json..."""
    heavy = "('google', 'typing', 're', 'json', 'dataclasses', 'base64', 'random', 'enum')"
    code = (
        "import sys; import zerolag.otlp.protobuf, zerolag.otlp.wire, zerolag.otlp.model; "
        f"print(' '.join(m for m in {heavy} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, check=True, env=_env()
    )
    assert out.stdout.strip() == ""


def _env() -> dict[str, str]:
    import os

    import zerolag

    src = os.path.dirname(os.path.dirname(zerolag.__file__))
    return {**os.environ, "PYTHONPATH": src}


def _generic_decode(name: str, data: bytes) -> object:
    try:
        return decode_message(GENERIC_DEC[name], data, 0, len(data), 0)
    except (OtlpDecodeError, IndexError, UnicodeDecodeError):
        return "error"


def _fast_decode(name: str, data: bytes) -> object:
    try:
        return pb.decode_message(name, data)
    except OtlpDecodeError:
        return "error"


@SETTINGS
@given(message("Resource"), st.binary(max_size=8), st.integers(0, 200))
def test_key_value_fast_decoder_matches_generic_decoder(resource: dict, noise: bytes, where: int) -> None:
    """The hand-written KeyValue decoder gives what the schema-driven one does, on valid and damaged input."""
    data = pb.encode_message("Resource", resource)
    assert _fast_decode("Resource", data) == resource
    damaged = data[:where] + noise + data[where + len(noise) :]
    assert _fast_decode("Resource", damaged) == _generic_decode("Resource", damaged)


def test_long_and_non_ascii_attributes_roundtrip() -> None:
    """Attribute strings past the one-byte-length fast paths (long, multi-byte UTF-8) survive a round trip."""
    attrs = [
        {"key": "k" * 200, "value": {"stringValue": "é" * 70}},
        {"key": "short", "value": {"stringValue": "x" * 41}},
        {"key": "u", "value": {"stringValue": "日本" * 30}},
        {"key": "big", "value": {"intValue": -(2**63)}},
    ]
    span = {"name": "n", "attributes": attrs}
    assert pb.decode_message("Span", pb.encode_message("Span", span)) == span
