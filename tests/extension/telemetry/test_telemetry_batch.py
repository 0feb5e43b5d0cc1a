"""Telemetry delivery parsing: timestamps and event validation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from zerolag.extension.telemetry.batch import parse_time

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)))
def test_platform_timestamps_parse_to_exact_nanoseconds(moment: datetime) -> None:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` (fast path) and other precisions agree with datetime arithmetic."""
    moment = moment.replace(tzinfo=timezone.utc)
    millis = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    expected_ms = (millis - EPOCH) // timedelta(microseconds=1) * 1000
    assert (
        parse_time(millis.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis.microsecond // 1000:03d}Z")
        == expected_ms
    )
    expected_us = (moment - EPOCH) // timedelta(microseconds=1) * 1000
    assert parse_time(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == expected_us
    assert parse_time(moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")) == expected_us


def test_bad_timestamps_are_none() -> None:
    """Unparsable or impossible times give None (the event is counted as malformed)."""
    for value in ("", "yesterday", "2026-13-01T00:00:00.000Z", "2026-01-01T25:00:00.000Z", 5, None):
        assert parse_time(value) is None
    assert parse_time("2026-01-01T02:00:00.5+02:00") == parse_time("2026-01-01T00:00:00.500Z")
