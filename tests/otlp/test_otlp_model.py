"""The model helpers: ids, attribute conversion, builders and iteration."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from zerolag.otlp import model
from zerolag.otlp import protobuf as pb

attribute_values = st.recursive(
    st.text(max_size=5)
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.binary(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


def test_ids_are_hex_of_the_right_length_and_reproducible_with_a_seed() -> None:
    """Trace ids are 32 hex digits, span ids 16, never all zero; a seeded Random repeats them."""
    assert len(model.new_trace_id()) == 32
    assert int(model.new_trace_id(), 16) != 0
    assert len(model.new_span_id()) == 16
    assert int(model.new_span_id(), 16) != 0
    assert model.new_trace_id(random.Random(7)) == model.new_trace_id(random.Random(7))
    assert model.new_span_id(random.Random(7)) != model.new_span_id(random.Random(8))


@given(st.dictionaries(st.text(max_size=8), attribute_values, max_size=5))
def test_attributes_roundtrip_through_protobuf(values: dict) -> None:
    """Python values -> attributes -> protobuf -> attributes -> Python values is the identity."""
    kvs = model.attributes(values)
    data = pb.encode_message("Resource", {"attributes": kvs} if kvs else {})
    assert model.attributes_to_dict(pb.decode_message("Resource", data).get("attributes", [])) == values


def test_any_value_conversions() -> None:
    """Each Python type maps to its AnyValue member; None to an empty AnyValue; others to str()."""
    assert model.any_value(True) == {"boolValue": True}
    assert model.any_value(3) == {"intValue": 3}
    assert model.any_value(b"\x00") == {"bytesValue": "AA=="}
    assert model.any_value([]) == {"arrayValue": {}}
    assert model.any_value(None) == {}
    assert model.any_value(1j) == {"stringValue": "1j"}
    assert model.from_any_value({}) is None
    assert model.attributes({"a": None, "b": 1}) == [{"key": "b", "value": {"intValue": 1}}]


def test_builders_produce_canonical_requests() -> None:
    """Requests built with the builders survive encode/decode unchanged (they hold no defaults)."""
    trace_id, span_id = model.new_trace_id(), model.new_span_id()
    span = model.span(
        "GET /",
        trace_id,
        span_id,
        1,
        2,
        kind=model.SpanKind.SERVER,
        attrs={"http.status_code": 200},
        events=[model.event("exception", 2, {"exception.type": "ValueError"})],
        links=[model.link(trace_id, model.new_span_id())],
        status_code=model.StatusCode.ERROR,
        status_message="boom",
    )
    traces = model.traces_request(model.resource_spans({"service.name": "svc"}, "zerolag", [span]))
    logs = model.logs_request(
        model.resource_logs(
            {"service.name": "svc"},
            "zerolag",
            [
                model.log_record(
                    "hello", 5, severity_number=model.SeverityNumber.INFO, trace_id=trace_id, span_id=span_id
                )
            ],
        )
    )
    points = [model.number_point(3, 5, {"k": "v"}), model.number_point(0.5, 6)]
    metrics = model.metrics_request(
        model.resource_metrics(
            {},
            "zerolag",
            [
                model.gauge("g", points, unit="1"),
                model.sum("c", points, temporality=model.AggregationTemporality.DELTA),
                model.histogram("h", [model.histogram_point(5, 3, [1, 2], [10.0], total=12.5, min=1, max=9)]),
                model.summary("s", [model.summary_point(5, 2, 3.0, {0.5: 1.0, 0.99: 2.0})]),
            ],
        )
    )
    for signal, req in (("traces", traces), ("logs", logs), ("metrics", metrics)):
        assert pb.decode(signal, pb.encode(signal, req)) == req


def test_iterators_flatten_requests() -> None:
    """iter_spans/iter_log_records/iter_metric_points yield each item with its resource and scope."""
    span = model.span("a", model.new_trace_id(), model.new_span_id(), 1, 2)
    traces = model.traces_request(
        model.resource_spans({"service.name": "one"}, "s1", [span, span]),
        model.resource_spans({"service.name": "two"}, "s2", [span]),
    )
    assert [(r["service.name"], s["name"]) for r, s, _ in model.iter_spans(traces)] == [
        ("one", "s1"),
        ("one", "s1"),
        ("two", "s2"),
    ]
    logs = model.logs_request(model.resource_logs(None, "s", [model.log_record({"k": 1})]))
    assert [model.from_any_value(r["body"]) for _, _, r in model.iter_log_records(logs)] == [{"k": 1}]
    metrics = model.metrics_request(
        model.resource_metrics(
            {"x": 1}, "s", [model.gauge("g", [model.number_point(1, 5), model.number_point(2, 6)])]
        )
    )
    rows = [
        (res, metric["name"], kind, point["asInt"])
        for res, _, metric, kind, point in model.iter_metric_points(metrics)
    ]
    assert rows == [({"x": 1}, "g", "gauge", 1), ({"x": 1}, "g", "gauge", 2)]


def test_integers_outside_int64_become_strings_and_still_encode() -> None:
    """An attribute integer past int64 (e.g. from a Thundra tag) is kept as its decimal string, so the request
    still encodes instead of failing."""
    from zerolag.otlp import model, protobuf

    assert model.any_value(2**64) == {"stringValue": str(2**64)}
    assert model.any_value(-(2**63)) == {"intValue": -(2**63)}
    span = model.span("s", "ab" * 16, "cd" * 8, 1, 2, attrs={"n": 2**70})
    request = model.traces_request(model.resource_spans({"service.name": "x"}, "scope", [span]))
    decoded = protobuf.decode("traces", protobuf.encode("traces", request))
    attrs = decoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"]
    assert attrs == [{"key": "n", "value": {"stringValue": str(2**70)}}]
