"""The queries behind each page, through the JSON API and the store: invocations, detail, charts."""

from __future__ import annotations

import pytest
from collector_client import Client
from collector_payloads import MS, T0, function_logs, invocation_trace, platform_metrics


@pytest.fixture
def loaded(client: Client) -> Client:
    """Three functions: api (warm ok, cold ok), worker (error), slow (timeout) and hog (OOM)."""
    sends = [
        ("traces", invocation_trace("api", "r-cold", start_ns=T0, cold_start=True, duration_ms=300)),
        ("metrics", platform_metrics("api", "r-cold", time_ns=T0 + 300 * MS, billed_ms=301, init_ms=250)),
        ("traces", invocation_trace("api", "r-warm", start_ns=T0 + 1000 * MS, duration_ms=20)),
        ("metrics", platform_metrics("api", "r-warm", time_ns=T0 + 1020 * MS, billed_ms=21)),
        ("logs", function_logs("api", "r-warm", ["start", "done"], time_ns=T0 + 1001 * MS)),
        (
            "traces",
            invocation_trace(
                "worker", "r-err", start_ns=T0 + 2000 * MS, status="error", error_type="KeyError"
            ),
        ),
        ("logs", function_logs("worker", "r-err", ["[ERROR] KeyError: 'id'"], time_ns=T0 + 2001 * MS)),
        (
            "traces",
            invocation_trace(
                "slow",
                "r-timeout",
                start_ns=T0 + 3000 * MS,
                duration_ms=3000,
                status="timeout",
                error_type="Sandbox.Timedout",
            ),
        ),
        (
            "traces",
            invocation_trace(
                "hog", "r-oom", start_ns=T0 + 4000 * MS, status="error", error_type="Runtime.OutOfMemory"
            ),
        ),
    ]
    for signal, request in sends:
        assert client.export(signal, request)[0] == 200
    return client


def ids(result: dict) -> list[str]:
    return [row["request_id"] for row in result["invocations"]]


def test_invocations_newest_first(loaded: Client) -> None:
    """The invocations list shows every invocation, newest first, with platform numbers merged in."""
    result = loaded.get_json("/api/invocations")
    assert ids(result) == ["r-oom", "r-timeout", "r-err", "r-warm", "r-cold"]
    cold = result["invocations"][-1]
    assert cold["function"] == "api"
    assert cold["billed_ms"] == 301
    assert cold["memory_used_mb"] == 61
    assert cold["memory_size_mb"] == 128
    assert cold["init_ms"] == 250
    assert cold["cold_start"] is True
    assert cold["trigger"] == "http"
    assert cold["duration_ms"] == pytest.approx(300)


def test_statuses_are_classified(loaded: Client) -> None:
    """Errors, timeouts and out-of-memory are told apart from the span's error type."""
    by_id = {r["request_id"]: r for r in loaded.get_json("/api/invocations")["invocations"]}
    assert {k: v["status"] for k, v in by_id.items()} == {
        "r-cold": "ok",
        "r-warm": "ok",
        "r-err": "error",
        "r-timeout": "timeout",
        "r-oom": "oom",
    }
    assert by_id["r-timeout"]["error_type"] == "Sandbox.Timedout"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("function=api", ["r-warm", "r-cold"]),
        ("status=timeout", ["r-timeout"]),
        ("status=error", ["r-err"]),
        ("cold_start=true", ["r-cold"]),
        ("cold_start=false&function=api", ["r-warm"]),
        ("limit=2", ["r-oom", "r-timeout"]),
        ("function=nobody", []),
    ],
)
def test_invocation_filters(loaded: Client, query: str, expected: list[str]) -> None:
    """The table filters by function, status and cold start (and limits)."""
    assert ids(loaded.get_json(f"/api/invocations?{query}")) == expected


def test_functions_list(loaded: Client) -> None:
    """The function filter offers every function seen."""
    found = loaded.get_json("/api/functions?since=2025-11-27T00:00:00Z&until=2025-11-30T00:00:00Z")
    assert [f["function"] for f in found["functions"]] == ["api", "hog", "slow", "worker"]


def test_invocation_detail(loaded: Client) -> None:
    """One invocation brings its spans in tree order with events, its logs and its platform metrics."""
    detail = loaded.get_json("/api/invocations/r-warm")
    assert detail["invocation"]["request_id"] == "r-warm"
    spans = detail["spans"]
    assert next(s["name"] for s in spans) == "api"
    assert len(spans) == 3
    assert all(s["parent_span_id"] == spans[0]["span_id"] for s in spans[1:])
    assert spans[1]["events"][0]["name"] == "cache miss"
    assert spans[1]["attributes"]["rpc.system"] == "aws-api"
    assert [log["body"] for log in detail["logs"]] == ["start", "done"]
    assert {m["name"] for m in detail["metrics"]} == {
        "aws.lambda.billed_duration",
        "aws.lambda.max_memory_used",
        "aws.lambda.memory_size",
    }


def test_detail_by_trace_id(loaded: Client) -> None:
    """``traces show`` may name a trace id instead of a request id."""
    trace_id = loaded.get_json("/api/invocations/r-err")["invocation"]["trace_id"]
    assert loaded.get_json(f"/api/invocations/{trace_id}")["invocation"]["request_id"] == "r-err"


def test_unknown_invocation_is_404(loaded: Client) -> None:
    """An unknown id is a 404, as JSON."""
    status, _, body = loaded.request("GET", "/api/invocations/nope", headers={"X-Api-Key": "read-secret-1"})
    assert status == 404
    assert b"no such invocation" in body


def test_chart_buckets(loaded: Client) -> None:
    """Charts aggregate invocations per time bucket: counts, percentiles, cold starts, errors."""
    buckets = loaded.get_json("/api/charts?buckets=5")["buckets"]
    assert len(buckets) == 5
    assert sum(b["invocations"] for b in buckets) == 5
    assert sum(b["cold_starts"] for b in buckets) == 1
    assert sum(b["errors"] for b in buckets) == 1
    assert sum(b["timeouts"] for b in buckets) == 1
    assert sum(b["ooms"] for b in buckets) == 1
    first = buckets[0]
    assert first["invocations"] == 1
    assert first["p50_ms"] == pytest.approx(300)
    assert first["init_p50_ms"] == 250
    assert first["cold_start_rate"] == 1.0


def test_platform_metrics_arriving_first_still_merge(client: Client) -> None:
    """Metrics before the span: the row is created from metrics and completed by the span."""
    assert (
        client.export("metrics", platform_metrics("fn", "r1", time_ns=T0 + 200 * MS, duration_ms=199))[0]
        == 200
    )
    assert client.export("traces", invocation_trace("fn", "r1", start_ns=T0, duration_ms=150))[0] == 200
    row = client.get_json("/api/invocations")["invocations"][0]
    assert row["start_ns"] == T0
    assert row["duration_ms"] == 199  # the platform's duration wins over the span's
    assert row["trigger"] == "http"
    assert row["billed_ms"] == 200


def test_worse_status_wins(client: Client) -> None:
    """When the agent says ok and the extension later reports a timeout, the invocation shows the timeout."""
    assert client.export("traces", invocation_trace("fn", "r1"))[0] == 200
    timeout = invocation_trace("fn", "r1", status="timeout", error_type="Sandbox.Timedout")
    timeout["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"] = "00000000000000aa"
    assert client.export("traces", timeout)[0] == 200
    row = client.get_json("/api/invocations")["invocations"][0]
    assert (row["status"], row["error_type"]) == ("timeout", "Sandbox.Timedout")
    assert client.export("traces", invocation_trace("fn", "r1"))[0] == 200
    assert client.get_json("/api/invocations")["invocations"][0]["status"] == "timeout"


def test_batches_of_many_functions_keep_each_resource(client: Client) -> None:
    """A forwarder batch concatenates requests of several functions; each span keeps its own function."""
    merged = {"resourceSpans": []}
    for i in range(6):
        merged["resourceSpans"] += invocation_trace(f"fn{i}", f"r{i}", start_ns=T0 + i * MS)["resourceSpans"]
    assert client.export("traces", merged)[0] == 200
    rows = client.get_json("/api/invocations")["invocations"]
    assert {r["request_id"]: r["function"] for r in rows} == {f"r{i}": f"fn{i}" for i in range(6)}
    spans = client.get_json("/api/invocations/r4")["spans"]
    assert {s["function"] for s in spans} == {"fn4"}


def test_invocations_sharing_a_trace_keep_their_own_spans_and_logs(client: Client) -> None:
    """Two invocations in one trace (a caller's trace id passed on) each show only their own root span
    and logs; untagged child spans of the trace still show."""
    for rid in ("r-a", "r-b"):
        trace = invocation_trace("fn", rid, children=0)
        trace["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"] = "ab" * 16
        logs = function_logs("fn", rid, [f"log of {rid}"])
        logs["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["traceId"] = "ab" * 16
        assert client.export("traces", trace)[0] == 200
        assert client.export("logs", logs)[0] == 200
    detail = client.get_json("/api/invocations/r-a")
    assert [s["request_id"] for s in detail["spans"]] == ["r-a"]
    assert [log["body"] for log in detail["logs"]] == ["log of r-a"]
