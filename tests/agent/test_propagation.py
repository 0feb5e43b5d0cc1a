"""Trace context on the wire: W3C traceparent, X-Ray headers, ids and ratio sampling."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from zerolag.agent import propagation as p


def test_traceparent_round_trips() -> None:
    """A formatted traceparent parses back to the same ids and sampled flag."""
    tp = p.format_traceparent(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True)
    assert tp == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert p.parse_traceparent(tp) == (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, True)


@given(st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1), st.booleans())
def test_xray_round_trips_for_any_ids(trace_id: int, span_id: int, sampled: bool) -> None:
    """Every id pair survives format_xray -> parse_xray."""
    assert p.parse_xray(p.format_xray(trace_id, span_id, sampled)) == (trace_id, span_id, sampled)


@given(st.integers(1, 2**128 - 1), st.integers(1, 2**64 - 1), st.booleans())
def test_traceparent_round_trips_for_any_ids(trace_id: int, span_id: int, sampled: bool) -> None:
    """Every valid id pair survives format -> parse."""
    assert p.parse_traceparent(p.format_traceparent(trace_id, span_id, sampled)) == (
        trace_id,
        span_id,
        sampled,
    )


def test_invalid_traceparents_are_rejected() -> None:
    """Zero ids, wrong lengths, version ff, non-hex and non-strings give None."""
    bad = [
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-zzf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        None,
        42,
    ]
    assert [p.parse_traceparent(v) for v in bad] == [None] * len(bad)


def test_future_traceparent_versions_may_carry_more_fields() -> None:
    """A higher version with extra fields still yields the ids (W3C forward compatibility)."""
    parsed = p.parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more")
    assert parsed == (0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False)


def test_xray_header_gives_trace_parent_and_sampling() -> None:
    """Lambda's _X_AMZN_TRACE_ID maps to a 128-bit trace id, the parent id and the decision."""
    parsed = p.parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
    assert parsed == (0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True)
    assert p.parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0")[2] is False  # type: ignore[index]
    undecided = p.parse_xray("Root=1-5759e988-bd862e3fe1be46a994272793;Lineage=a:1")
    assert undecided is not None
    assert undecided[2] is None
    assert p.parse_xray("Root=2-xyz") is None
    assert p.parse_xray("Parent=53995c3f42cd8ad8") is None
    assert p.parse_xray("Root=1-zzzzzzzz-bd862e3fe1be46a994272793") is None
    assert p.parse_xray("Root=1-5759e988-bd862e3fe1be46a99427279") is None


def test_xray_format_round_trips() -> None:
    """format_xray gives a header parse_xray reads back."""
    header = p.format_xray(0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True)
    assert p.parse_xray(header) == (0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, True)


def test_span_ids_are_distinct_and_nonzero() -> None:
    """100 000 span ids from the generator are unique and never 0."""
    ids = {p.new_span_id() for _ in range(100_000)}
    assert len(ids) == 100_000
    assert 0 not in ids
    assert all(0 < i < 2**64 for i in ids)


def test_sampling_is_decided_by_the_trace_id() -> None:
    """The same trace id always gets the same decision; the kept share follows the ratio."""
    trace_ids = [p.new_trace_id() for _ in range(20_000)]
    kept = [t for t in trace_ids if p.sample(t, 0.25)]
    assert 0.2 < len(kept) / len(trace_ids) < 0.3
    assert all(p.sample(t, 0.25) for t in kept)
    assert all(p.sample(t, 1.0) for t in trace_ids[:100])
    assert not any(p.sample(t, 0.0) for t in trace_ids[:100])
