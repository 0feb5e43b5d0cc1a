"""How spans and metrics become an invocation's facts (pure: records -> store, no HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from collector_payloads import MS, T0, attrs, invocation_trace, platform_metrics

from zerolag.collector import Store, queries
from zerolag.collector.records import metric_rows, trace_rows


def root(trace: dict[str, Any]) -> dict[str, Any]:
    return trace["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def stored(tmp_path: Path, *requests: dict[str, Any]) -> dict[str, Any]:
    with Store(tmp_path / "facts.db") as store:
        for request in requests:
            rows = metric_rows(request, T0) if "resourceMetrics" in request else trace_rows(request, T0)
            store.ingest(rows)
        with store.reader() as db:
            (row,) = queries.invocations(db, queries.Filters())
            return row


def test_agent_timeout_flag_and_message_make_a_timeout(tmp_path: Path) -> None:
    """The agent's SERVER span marked ``zerolag.timeout`` with a "timeout: ..." status is a timeout."""
    trace = invocation_trace("fn", "r1", children=0)
    span = root(trace)
    span["attributes"] += attrs({"zerolag.timeout": True})
    span["status"] = {"code": 2, "message": "timeout: still running before the function's deadline"}
    assert stored(tmp_path, trace)["status"] == "timeout"


def test_platform_outcome_child_span_sets_the_status_only(tmp_path: Path) -> None:
    """The extension's platform-outcome child span (aws.lambda.status, error.type) turns the agent's
    invocation into a timeout, keeping the agent's trace, root span and start."""
    agent = invocation_trace("fn", "r1", children=0, start_ns=T0, duration_ms=1000)
    outcome = invocation_trace("fn", "r1-outcome", children=0, start_ns=T0 + 500 * MS)
    child = root(outcome)
    child.update(traceId=root(agent)["traceId"], parentSpanId=root(agent)["spanId"], kind=1)
    child["attributes"] = attrs(
        {"faas.invocation_id": "r1", "aws.lambda.status": "timeout", "error.type": "Sandbox.Timedout"}
    )
    child["status"] = {"code": 2, "message": "Task timed out after 1.00 seconds"}
    for order in ((outcome, agent), (agent, outcome)):
        row = stored(tmp_path / str(id(order)), *order)
        assert (row["status"], row["error_type"]) == ("timeout", "Sandbox.Timedout")
        assert (row["trace_id"], row["span_id"]) == (root(agent)["traceId"], root(agent)["spanId"])
        assert row["start_ns"] == T0
        assert row["trigger"] == "http"


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("requests.exceptions.ReadTimeout", "error"),
        ("Sandbox.Timedout", "timeout"),
        ("Runtime.OutOfMemory", "oom"),
        ("KeyError", "error"),
    ],
)
def test_error_types_are_classified_from_platform_words(
    tmp_path: Path, error_type: str, expected: str
) -> None:
    """A handler's own ReadTimeout is an error; only the platform's error types make timeout/OOM."""
    trace = invocation_trace("fn", "r1", children=0, status="error", error_type=error_type)
    span = root(trace)
    span["attributes"] = [kv for kv in span["attributes"] if kv["key"] != "aws.lambda.status"]
    assert stored(tmp_path, trace)["status"] == expected


def test_out_of_memory_flag_and_metric_counters(tmp_path: Path) -> None:
    """``aws.lambda.out_of_memory`` on a span, or the counter metric alone, marks the invocation OOM."""
    trace = invocation_trace("fn", "r1", children=0)
    root(trace)["attributes"] += attrs({"aws.lambda.out_of_memory": True})
    assert stored(tmp_path / "a", trace)["status"] == "oom"
    metrics = platform_metrics("fn", "r1")
    metrics["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].append(
        {
            "name": "aws.lambda.out_of_memory",
            "unit": "1",
            "sum": {
                "dataPoints": [
                    {"timeUnixNano": T0, "asInt": 1, "attributes": attrs({"faas.invocation_id": "r1"})}
                ]
            },
        }
    )
    assert stored(tmp_path / "b", invocation_trace("fn", "r1", children=0), metrics)["status"] == "oom"


def test_metric_units_are_converted(tmp_path: Path) -> None:
    """Durations in seconds and memory in bytes become ms and MB."""
    rid = attrs({"faas.invocation_id": "r1"})

    def gauge(name: str, unit: str, value: float) -> dict[str, Any]:
        return {
            "name": name,
            "unit": unit,
            "gauge": {"dataPoints": [{"timeUnixNano": T0, "asDouble": value, "attributes": rid}]},
        }

    metrics = {
        "resourceMetrics": [
            {
                "resource": {"attributes": attrs({"faas.name": "fn"})},
                "scopeMetrics": [
                    {
                        "metrics": [
                            gauge("faas.invoke_duration", "s", 0.25),
                            gauge("faas.mem_usage", "By", 64 * 1048576),
                            gauge("faas.max_memory", "By", 128 * 1048576),
                        ]
                    }
                ],
            }
        ]
    }
    row = stored(tmp_path, metrics)
    assert (row["duration_ms"], row["memory_used_mb"], row["memory_size_mb"]) == (250.0, 64.0, 128.0)
