"""wire.count_items and wire.split: counting and cutting protobuf requests without decoding them."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from otlp_strategies import request

from zerolag.otlp import SIGNALS, OtlpDecodeError, model, wire
from zerolag.otlp import protobuf as pb

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def true_count(signal: str, req: dict) -> int:
    """The number of items by walking the dict form."""
    if signal == "traces":
        return len(list(model.iter_spans(req)))
    if signal == "logs":
        return len(list(model.iter_log_records(req)))
    return len(list(model.iter_metric_points(req)))


@pytest.mark.parametrize("signal", SIGNALS)
def test_count_items_equals_the_true_count(signal: str) -> None:
    """count_items counts the spans, metric data points or log records that decode finds."""

    @SETTINGS
    @given(request(signal))
    def check(req: dict) -> None:
        assert wire.count_items(signal, pb.encode(signal, req)) == true_count(signal, req)

    check()


@pytest.mark.parametrize("signal", SIGNALS)
def test_count_items_rejects_truncations_exactly_when_decode_does(signal: str) -> None:
    """Every prefix of a request is rejected by count_items if and only if decode rejects it."""

    @SETTINGS
    @given(request(signal), st.data())
    def check(req: dict, data: st.DataObject) -> None:
        raw = pb.encode(signal, req)
        cut = data.draw(st.integers(0, len(raw)))
        prefix = raw[:cut]
        try:
            pb.decode(signal, prefix)
            decoded = True
        except OtlpDecodeError:
            decoded = False
        try:
            wire.count_items(signal, prefix)
            counted = True
        except OtlpDecodeError:
            counted = False
        assert decoded == counted

    check()


def test_count_items_checks_wire_types_of_the_envelope() -> None:
    """A known envelope field with the wrong wire type is rejected, an unknown field is skipped."""
    with pytest.raises(OtlpDecodeError):
        wire.count_items("traces", b"\x08\x01")  # resourceSpans as a varint
    with pytest.raises(OtlpDecodeError):
        wire.count_items("traces", b"\x0a\x02\x18\x01")  # ResourceSpans.schemaUrl as a varint
    assert wire.count_items("traces", b"\x10\x01") == 0  # unknown field 2 of the request


def test_count_items_counts_every_metric_type() -> None:
    """Data points of gauges, sums, histograms, exponential histograms and summaries are all counted."""
    points = [model.number_point(1, 5), model.number_point(2.5, 6)]
    metrics = [
        model.gauge("g", points),
        model.sum("s", points),
        model.histogram("h", [model.histogram_point(5, 1, [1, 0], [1.0])]),
        model.exponential_histogram("e", [{"count": 1, "scale": -3}]),
        model.summary("q", [model.summary_point(5, 1, 1.0, {0.5: 1.0})]),
    ]
    req = model.metrics_request(model.resource_metrics({"service.name": "x"}, "s", metrics))
    assert wire.count_items("metrics", pb.encode("metrics", req)) == 7


def _traces(resources: int, spans: int) -> dict:
    trace_id = model.new_trace_id()
    return model.traces_request(
        *[
            model.resource_spans(
                {"service.name": f"svc{r}"},
                "scope",
                [
                    model.span(f"s{r}.{i}", trace_id, model.new_span_id(), 1, 2, attrs={"k": "v" * 40})
                    for i in range(spans)
                ],
            )
            for r in range(resources)
        ]
    )


@pytest.mark.parametrize("max_bytes", [10**6, 4000, 900, 300, 1])
def test_split_keeps_every_item_in_order_within_the_limit(max_bytes: int) -> None:
    """Pieces stay under the limit (unless one item alone is larger) and concatenate back to all items."""
    req = _traces(3, 12)
    data = pb.encode("traces", req)
    parts = wire.split("traces", data, max_bytes)
    names = [span["name"] for _r, _s, span in model.iter_spans(req)]
    merged = pb.decode("traces", b"".join(parts))
    assert [span["name"] for _r, _s, span in model.iter_spans(merged)] == names
    assert sum(wire.count_items("traces", p) for p in parts) == len(names)
    biggest_span = max(len(pb.encode_message("Span", s)) for _r, _s, s in model.iter_spans(req))
    for part in parts:
        assert len(part) <= max(max_bytes, biggest_span + 200)
        for resource, _scope, _span in model.iter_spans(pb.decode("traces", part)):
            assert resource["service.name"].startswith("svc")  # headers repeated in every piece
    if len(data) <= max_bytes:
        assert parts == [data]


@pytest.mark.parametrize("signal", SIGNALS)
def test_split_preserves_content(signal: str) -> None:
    """Splitting random requests at any limit loses and reorders nothing."""

    @SETTINGS
    @given(request(signal), st.integers(1, 400))
    def check(req: dict, max_bytes: int) -> None:
        parts = wire.split(signal, pb.encode(signal, req), max_bytes)
        assert sum(wire.count_items(signal, p) for p in parts) == true_count(signal, req)
        merged = pb.decode(signal, b"".join(parts))
        assert true_count(signal, merged) == true_count(signal, req)

    check()


def test_split_of_an_empty_request_is_empty_and_malformed_input_raises() -> None:
    """An empty request gives no pieces; a truncated one raises OtlpDecodeError."""
    assert wire.split("logs", b"", 100) == []
    data = pb.encode("traces", _traces(1, 2))
    with pytest.raises(OtlpDecodeError):
        wire.split("traces", data[:-1], 100)
