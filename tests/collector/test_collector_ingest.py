"""The OTLP/HTTP receiver: keys, encodings, OTLP-spec replies and refusals that store nothing."""

from __future__ import annotations

import gzip
import sqlite3

import pytest
from collector_client import INGEST_KEY, READ_KEY, Client
from collector_payloads import function_logs, invocation_trace, platform_metrics

from zerolag.collector import Collector
from zerolag.otlp import protobuf


def counts(collector: Collector) -> dict[str, int]:
    db = sqlite3.connect(collector.config.db_path)
    try:
        return {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("invocations", "spans", "span_events", "logs", "metric_points")
        }
    finally:
        db.close()


NOTHING = {"invocations": 0, "spans": 0, "span_events": 0, "logs": 0, "metric_points": 0}


def test_export_without_a_key_is_401_and_stores_nothing(client: Client, collector: Collector) -> None:
    """A request with no key is refused with 401 and leaves the store empty."""
    status, headers, body = client.export("traces", invocation_trace("fn", "r1"), key=None)
    assert status == 401
    assert headers["content-type"] == "application/x-protobuf"
    assert b"key" in body
    assert counts(collector) == NOTHING


def test_export_with_a_wrong_key_is_401(client: Client, collector: Collector) -> None:
    """An unknown key is refused with 401, in either header form."""
    assert client.export("traces", invocation_trace("fn", "r1"), key="nope")[0] == 401
    body = protobuf.encode("traces", invocation_trace("fn", "r1"))
    status, _, _ = client.request(
        "POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf", "X-Api-Key": "nope"}
    )
    assert status == 401
    assert counts(collector) == NOTHING


def test_a_read_key_cannot_ingest(client: Client, collector: Collector) -> None:
    """A read-only key is refused for ingest with 403 (and nothing is stored)."""
    assert client.export("traces", invocation_trace("fn", "r1"), key=READ_KEY)[0] == 403
    assert counts(collector) == NOTHING


def test_x_api_key_header_is_accepted(client: Client, collector: Collector) -> None:
    """``X-Api-Key: <ingest key>`` is as good as the bearer form."""
    body = protobuf.encode("traces", invocation_trace("fn", "r1"))
    status, headers, reply = client.request(
        "POST", "/v1/traces", body, {"Content-Type": "application/x-protobuf", "X-Api-Key": INGEST_KEY}
    )
    assert (status, headers["content-type"], reply) == (200, "application/x-protobuf", b"")
    assert counts(collector)["spans"] == 3


@pytest.mark.parametrize("gzipped", [False, True])
def test_all_three_signals_are_stored(client: Client, collector: Collector, gzipped: bool) -> None:
    """Traces, metrics and logs, plain or gzip-compressed, are accepted with an empty OTLP response."""
    for signal, request in (
        ("traces", invocation_trace("fn", "r1")),
        ("metrics", platform_metrics("fn", "r1")),
        ("logs", function_logs("fn", "r1", ["hello", "world"])),
    ):
        status, _, body = client.export(signal, request, gzipped=gzipped)
        assert (status, body) == (200, b"")
    assert counts(collector) == {
        "invocations": 1,
        "spans": 3,
        "span_events": 1,
        "logs": 2,
        "metric_points": 3,
    }


def test_json_export_gets_a_json_reply(client: Client, collector: Collector) -> None:
    """An OTLP/JSON request is decoded and answered with ``{}`` as application/json."""
    status, headers, body = client.export("logs", function_logs("fn", "r1", ["a"]), as_json=True)
    assert (status, headers["content-type"], body) == (200, "application/json", b"{}")
    assert counts(collector)["logs"] == 1


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"\xff\xff\xff\xff", "application/x-protobuf"),
        (b"\x0a\x10truncated", "application/x-protobuf"),
        (b"{not json", "application/json"),
        (b'{"resourceSpans": 5}', "application/json"),
    ],
)
def test_malformed_payload_is_400_and_stores_nothing(
    client: Client, collector: Collector, body: bytes, ctype: str
) -> None:
    """Malformed protobuf or JSON gets 400 with a google.rpc.Status, and nothing is stored."""
    status, headers, reply = client.request(
        "POST", "/v1/traces", body, {"Content-Type": ctype, "Authorization": f"Bearer {INGEST_KEY}"}
    )
    assert status == 400
    assert headers["content-type"] == ctype
    assert b"malformed" in reply
    assert counts(collector) == NOTHING


def test_corrupt_gzip_is_400(client: Client, collector: Collector) -> None:
    """A body that claims gzip but is not is refused with 400."""
    status, _, _ = client.request(
        "POST",
        "/v1/logs",
        b"not gzip at all",
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "X-Api-Key": INGEST_KEY},
    )
    assert status == 400
    assert counts(collector) == NOTHING


def test_unsupported_content_type_is_415(client: Client, collector: Collector) -> None:
    """Only application/x-protobuf and application/json are accepted."""
    status, _, _ = client.request(
        "POST", "/v1/traces", b"<xml/>", {"Content-Type": "text/xml", "X-Api-Key": INGEST_KEY}
    )
    assert status == 415
    assert counts(collector) == NOTHING


def test_oversized_body_is_413(tmp_path) -> None:
    """A body over the configured limit is refused with 413 before it is read."""
    from collector_client import make_config

    with Collector(make_config(tmp_path, max_body_bytes=1000)) as small:
        client = Client(small)
        big = function_logs("fn", "r1", ["x" * 2000])
        assert client.export("logs", big)[0] == 413
        assert counts(small) == NOTHING


def test_gzip_bomb_is_413(tmp_path) -> None:
    """A small gzip body that inflates past the limit is refused with 413."""
    from collector_client import make_config

    with Collector(make_config(tmp_path, max_body_bytes=10_000)) as small:
        client = Client(small)
        bomb = gzip.compress(b"\x00" * 1_000_000)
        status, _, _ = client.request(
            "POST",
            "/v1/traces",
            bomb,
            {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip", "X-Api-Key": INGEST_KEY},
        )
        assert status == 413
        assert counts(small) == NOTHING


def test_unknown_path_is_404(client: Client) -> None:
    """Only the three OTLP paths take POSTs."""
    status, _, _ = client.request("POST", "/v1/profiles", b"x", {"Content-Type": "application/x-protobuf"})
    assert status == 404


def test_resent_spans_are_stored_once(client: Client, collector: Collector) -> None:
    """The extension may resend a batch after a freeze; duplicate spans and their events are kept once."""
    request = invocation_trace("fn", "r1", status="error", error_type="ValueError")
    assert client.export("traces", request)[0] == 200
    assert client.export("traces", request)[0] == 200
    assert counts(collector)["spans"] == 3
    assert counts(collector)["span_events"] == 2


def test_extreme_numbers_are_stored_not_refused(client: Client, collector: Collector) -> None:
    """A uint64 timestamp past int64 (found by the fuzzer) and a NaN gauge are stored, clamped, with a 200."""
    trace = invocation_trace("fn", "r-big", children=0)
    trace["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = 2**64 - 1
    assert client.export("traces", trace)[0] == 200
    metrics = platform_metrics("fn", "r-big")
    metrics["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["gauge"]["dataPoints"][0]["asDouble"] = (
        float("nan")
    )
    assert client.export("metrics", metrics)[0] == 200
    db = sqlite3.connect(collector.config.db_path)
    try:
        assert db.execute("SELECT end_ns FROM spans").fetchone()[0] == 2**63 - 1
        assert db.execute("SELECT COUNT(*) FROM metric_points WHERE value = 0").fetchone()[0] == 1
    finally:
        db.close()
