"""The Telemetry API translator: platform events → OTLP spans, metrics and logs (pure core)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from telemetry_samples import (
    RID,
    RID2,
    XRAY_TRACE,
    Sink,
    attr,
    body,
    feed,
    init_events,
    invoke_events,
    translator,
)

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.otlp import protobuf


def test_invocation_without_agent_gets_one_server_span_from_start_runtime_done_and_report() -> None:
    """No agent data: one SERVER span per invocation, timed by platform.start + runtimeDone duration."""
    sink = Sink()
    tr = translator(sink)
    feed(tr, init_events() + invoke_events())
    spans = [s for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER]
    assert len(spans) == 1
    span = spans[0]
    assert span["traceId"] == XRAY_TRACE
    assert span["parentSpanId"] == "53995c3f42cd8ad8"
    assert span["endTimeUnixNano"] - span["startTimeUnixNano"] == 12_500_000
    assert attr(span, "faas.invocation_id") == RID
    assert attr(span, "faas.coldstart") is True
    assert attr(span, "faas.trigger") == "other"
    assert span["status"]["code"] == ob.STATUS_UNSET
    assert tr.open_invocations() == []


def test_cold_start_emits_an_init_span_in_the_first_invocations_trace() -> None:
    """initStart → initReport becomes an init span, child of the synthesized invocation span."""
    sink = Sink()
    feed(translator(sink), init_events() + invoke_events())
    server = next(s for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER)
    init = next(s for s in sink.spans() if s["name"] == "fn init")
    assert init["traceId"] == server["traceId"]
    assert init["parentSpanId"] == server["spanId"]
    assert init["endTimeUnixNano"] - init["startTimeUnixNano"] == 81_000_000
    assert attr(init, "aws.lambda.initialization_type") == "on-demand"


def test_warm_invocation_is_not_a_cold_start_and_gets_no_init_span() -> None:
    """Only the first invocation after initStart is a cold start (init span, coldstart count)."""
    sink = Sink()
    feed(translator(sink), init_events() + invoke_events(), invoke_events(rid=RID2, at=500, init_ms=None))
    server = {attr(s, "faas.invocation_id"): s for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER}
    assert attr(server[RID], "faas.coldstart") is True
    assert attr(server[RID2], "faas.coldstart") is False
    assert len([s for s in sink.spans() if s["name"] == "fn init"]) == 1
    (cold,) = sink.metric("faas.coldstarts")
    assert attr(cold["sum"]["dataPoints"][0], "faas.invocation_id") == RID
    assert len(sink.metric("faas.invocations")) == 2


def test_platform_metrics_per_invocation() -> None:
    """Duration, billed duration, memory, init, post-runtime and runtimeDone spans become metrics."""
    sink = Sink()
    feed(translator(sink), init_events() + invoke_events())
    values = {m["name"]: next(iter(m.values())) for m in sink.items("metrics")}
    point = {
        m["name"]: (m.get("gauge") or m.get("sum"))["dataPoints"][0]
        for m in sink.items("metrics")  # type: ignore[index]
    }
    assert set(values) >= {
        "aws.lambda.duration",
        "aws.lambda.billed_duration",
        "aws.lambda.max_memory_used",
        "aws.lambda.memory_size",
        "aws.lambda.init_duration",
        "aws.lambda.post_runtime_duration",
        "aws.lambda.runtime.response_latency",
        "aws.lambda.runtime.response_duration",
        "aws.lambda.runtime.overhead",
        "faas.invocations",
        "faas.coldstarts",
    }
    assert point["aws.lambda.duration"]["asDouble"] == 14.5
    assert point["aws.lambda.billed_duration"]["asInt"] == 15
    assert point["aws.lambda.max_memory_used"]["asInt"] == 40
    assert point["aws.lambda.init_duration"]["asDouble"] == 81.0
    assert point["aws.lambda.post_runtime_duration"]["asDouble"] == 2.0
    assert point["aws.lambda.runtime.response_latency"]["asDouble"] == 1.5
    assert all(attr(p, "faas.invocation_id") == RID for p in point.values())


def test_logs_are_correlated_to_request_and_invocation_span() -> None:
    """Function log lines become log records with the request id and the invocation's trace/span ids."""
    sink = Sink()
    lines = ("plain print", f"[ERROR]\t2026-01-01T00:00:00.101Z\t{RID}\tboom")
    feed(translator(sink), invoke_events(logs=lines))
    server = sink.spans()[0]
    logs = sink.items("logs")
    assert [r["body"]["stringValue"] for r in logs] == ["plain print", "boom"]
    assert all(r["traceId"] == server["traceId"] and r["spanId"] == server["spanId"] for r in logs)
    assert all(attr(r, "faas.invocation_id") == RID for r in logs)
    assert logs[1]["severityNumber"] == 17
    assert all(rid == RID for sig, _, rid in sink.calls if sig == "logs")


def test_json_log_records_keep_level_and_request_id() -> None:
    """JSON log format (object records) keeps severity, message and extra fields."""
    sink = Sink()
    tr = translator(sink)
    events = invoke_events(logs=())
    rec = {"timestamp": "x", "level": "WARN", "requestId": RID, "message": "careful", "logger": "app", "k": 1}
    events.insert(1, {"time": events[0]["time"], "type": "function", "record": rec})
    feed(tr, events)
    (log,) = sink.items("logs")
    assert log["body"]["stringValue"] == "careful"
    assert log["severityText"] == "WARN"
    assert log["severityNumber"] == 13
    assert attr(log, "k") == 1
    assert attr(log, "faas.invocation_id") == RID


def test_agent_final_data_suppresses_the_synthesized_span() -> None:
    """When the agent handed over its invocation (X-Zerolag-Final), no second invocation span is made."""
    sink = Sink()
    tr = translator(sink)
    tr.on_agent_data(RID, "traces", b"", final=True)
    tr.handle_body(body(invoke_events(init_ms=None)))
    assert sink.spans() == []
    assert sink.metric("faas.invocations")


def test_timeout_yields_error_span_with_duration_last_lines_and_agent_ids() -> None:
    """A timeout: error span with status message, real run time, last log lines, agent's trace and span id."""
    agent_trace, agent_root, child = "ab" * 16, "cd" * 8, "ef" * 8
    partial = {
        "resourceSpans": [
            {
                "resource": {},
                "scopeSpans": [
                    {
                        "spans": [
                            ob.span(
                                trace_id=agent_trace,
                                span_id=child,
                                parent_span_id=agent_root,
                                name="work",
                                start_ns=1,
                                end_ns=2,
                            )
                        ]
                    }
                ],
            }
        ]
    }
    sink = Sink()
    tr = translator(sink)
    tr.on_invoke({"requestId": RID, "invokedFunctionArn": "arn:aws:lambda:us-east-1:1:function:fn"})
    tr.on_agent_data(RID, "traces", protobuf.encode("traces", partial), final=False)
    lines = tuple(f"line {i}" for i in range(30))
    feed(tr, invoke_events(status="timeout", error_type="Sandbox.Timedout", duration=3000.0, logs=lines))
    (span,) = [s for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER]
    assert span["status"]["code"] == ob.STATUS_ERROR
    assert span["status"]["message"] == "Task timed out after 3.00 seconds"
    assert span["traceId"] == agent_trace
    assert span["spanId"] == agent_root
    assert span["endTimeUnixNano"] - span["startTimeUnixNano"] == 3_000_000_000
    assert attr(span, "error.type") == "Sandbox.Timedout"
    assert attr(span, "aws.lambda.last_log_lines") == [f"line {i}" for i in range(10, 30)]
    assert attr(span, "cloud.resource_id") == "arn:aws:lambda:us-east-1:1:function:fn"
    assert len(sink.metric("faas.timeouts")) == 1


def test_out_of_memory_is_detected_from_memory_used_equal_to_size() -> None:
    """A failure whose max memory used equals memory size is reported as out of memory."""
    sink = Sink()
    feed(
        translator(sink),
        invoke_events(status="failure", error_type="Runtime.ExitError", used=128, size=128, init_ms=None),
    )
    (span,) = sink.spans()
    assert attr(span, "aws.lambda.out_of_memory") is True
    assert attr(span, "aws.lambda.error_type") == "Runtime.ExitError"
    assert len(sink.metric("aws.lambda.out_of_memory")) == 1
    assert len(sink.metric("faas.errors")) == 1


def test_shutdown_timeout_finalizes_an_invocation_without_report() -> None:
    """SHUTDOWN(timeout) before any report: the open invocation still gets an error span with its log tail."""
    sink = Sink()
    tr = translator(sink)
    tr.on_invoke(
        {
            "requestId": RID,
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "00-" + "12" * 16 + "-" + "34" * 8 + "-01"},
        }
    )
    events = invoke_events(logs=("about to sleep",))[:2]
    tr.handle_body(body(events))
    tr.on_shutdown("timeout")
    (span,) = [s for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER]
    assert span["traceId"] == "12" * 16
    assert span["status"]["code"] == ob.STATUS_ERROR
    assert attr(span, "error.type") == "Sandbox.Timedout"
    assert attr(span, "aws.lambda.last_log_lines") == ["about to sleep"]
    assert tr.open_invocations() == []


def test_emf_lines_become_metrics_not_logs() -> None:
    """A Powertools EMF line becomes OTLP metrics and is not forwarded as a log record."""
    emf = (
        '{"_aws":{"Timestamp":1767225600100,"CloudWatchMetrics":[{"Namespace":"shop","Dimensions":[["service"]],'
        '"Metrics":[{"Name":"orders","Unit":"Count"},{"Name":"latency","Unit":"Milliseconds"}]}]},'
        '"service":"checkout","orders":[1.0,2.0],"latency":12.5}'
    )
    sink = Sink()
    feed(translator(sink), invoke_events(logs=(emf,)))
    (orders,) = sink.metric("orders")
    (latency,) = sink.metric("latency")
    assert [p["asDouble"] for p in orders["sum"]["dataPoints"]] == [1.0, 2.0]
    assert latency["unit"] == "ms"
    assert attr(latency["gauge"]["dataPoints"][0], "service") == "checkout"
    assert attr(latency["gauge"]["dataPoints"][0], "aws.cloudwatch.namespace") == "shop"
    assert latency["gauge"]["dataPoints"][0]["timeUnixNano"] == 1767225600100 * 1_000_000
    assert attr(latency["gauge"]["dataPoints"][0], "faas.invocation_id") == RID
    assert sink.items("logs") == []


def test_bad_input_is_counted_never_raised() -> None:
    """Malformed bodies, malformed events, unknown types and bad records are counted and skipped."""
    sink = Sink()
    tr = translator(sink)
    tr.handle_body(b"{not json")
    tr.handle_body(b'{"an": "object"}')
    tr.handle_body(
        body(
            [
                {"time": "yesterday", "type": "platform.start", "record": {}},
                {"type": "platform.start"},
                {"time": "2026-01-01T00:00:00Z", "type": "platform.brandNew", "record": {}},
                {"time": "2026-01-01T00:00:00Z", "type": "platform.start", "record": "text"},
                {"time": "2026-01-01T00:00:00Z", "type": "platform.report", "record": {"no": "id"}},
                42,
            ]
        )
    )
    assert tr.stats["bad_batches"] == 2
    assert tr.stats["bad_events"] == 5
    assert tr.stats["unknown_types"] == 1
    assert sink.calls == []


def test_output_parses_with_the_official_protobuf_messages() -> None:
    """Every request the translator emits encodes to protobuf that opentelemetry-proto parses."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    sink = Sink()
    feed(translator(sink), init_events() + invoke_events(status="error", error_type="ValueError"))
    classes = {
        "traces": ExportTraceServiceRequest,
        "metrics": ExportMetricsServiceRequest,
        "logs": ExportLogsServiceRequest,
    }
    for signal, request, _ in sink.calls:
        msg = classes[signal].FromString(protobuf.encode(signal, request))  # type: ignore[arg-type]
        assert msg.ByteSize() > 0


_TYPES = [
    "platform.initStart",
    "platform.initRuntimeDone",
    "platform.initReport",
    "platform.start",
    "platform.runtimeDone",
    "platform.report",
    "platform.logsDropped",
    "platform.extension",
    "platform.future",
    "function",
    "extension",
]
_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6)
_json = st.recursive(
    _leaf, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c), max_leaves=8
)
_record = st.fixed_dictionaries(
    {},
    optional={
        "requestId": st.sampled_from([RID, RID2, "", 7]),
        "status": st.sampled_from(["success", "error", "timeout", "failure", 3]),
        "errorType": st.sampled_from(["Runtime.ExitError", "Sandbox.Timedout", None]),
        "metrics": st.dictionaries(st.sampled_from(["durationMs", "maxMemoryUsedMB", "memorySizeMB"]), _leaf),
        "spans": _json,
        "tracing": _json,
    },
)
_event = st.fixed_dictionaries(
    {
        "time": st.sampled_from(["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:01.5Z", "bad"]),
        "type": st.sampled_from(_TYPES),
        "record": _record | _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_event, max_size=12), st.sampled_from(["spindown", "timeout", "failure"]))
def test_any_event_sequence_is_handled_and_yields_at_most_one_span_per_request(
    events: list[dict[str, object]], reason: str
) -> None:
    """Arbitrary (also malformed) batches never raise; each request id gets at most one invocation span."""
    sink = Sink()
    tr = translator(sink)
    tr.handle_body(body(events))
    tr.on_shutdown(reason)
    servers = [attr(s, "faas.invocation_id") for s in sink.spans() if s["kind"] == ob.SPAN_KIND_SERVER]
    assert len(servers) == len(set(servers))
    assert tr.open_invocations() == []


def test_failed_invocation_the_agent_reported_gets_a_platform_outcome_child_not_a_second_server_span() -> (
    None
):
    """Agent final + platform timeout: an INTERNAL error child of the agent's SERVER span, no new one."""
    agent_trace, agent_server = "12" * 16, "34" * 8
    server = ob.span(
        trace_id=agent_trace,
        span_id=agent_server,
        name="fn",
        kind=ob.SPAN_KIND_SERVER,
        start_ns=1,
        end_ns=2,
        status_code=ob.STATUS_ERROR,
    )
    sink = Sink()
    tr = translator(sink)
    tr.on_agent_data(RID, "traces", protobuf.encode("traces", ob.request("traces", {}, [server])), final=True)
    tr.handle_body(
        body(invoke_events(status="timeout", error_type="Sandbox.Timedout", duration=2000.0, logs=("zzz",)))
    )
    (span,) = sink.spans()
    assert span["kind"] == ob.SPAN_KIND_INTERNAL
    assert span["traceId"] == agent_trace
    assert span["parentSpanId"] == agent_server
    assert span["status"]["code"] == ob.STATUS_ERROR
    assert attr(span, "error.type") == "Sandbox.Timedout"
    assert attr(span, "aws.lambda.last_log_lines") == ["zzz"]
    assert span["endTimeUnixNano"] - span["startTimeUnixNano"] == 2_000_000_000


def test_agent_server_span_without_final_header_is_not_doubled() -> None:
    """The agent sent its SERVER span but its final marker got lost: still no second invocation span."""
    server = ob.span(
        trace_id="56" * 16, span_id="78" * 8, name="fn", kind=ob.SPAN_KIND_SERVER, start_ns=1, end_ns=2
    )
    sink = Sink()
    tr = translator(sink)
    tr.on_agent_data(
        RID, "traces", protobuf.encode("traces", ob.request("traces", {}, [server])), final=False
    )
    feed(tr, invoke_events(init_ms=None, logs=("hi",)))
    assert sink.spans() == []
    (log,) = sink.items("logs")
    assert log["traceId"] == "56" * 16
    assert log["spanId"] == "78" * 8


def test_untagged_server_span_with_the_invocation_id_is_not_doubled() -> None:
    """An OTel-SDK SERVER span (no request-id header) naming the invocation suppresses the synthesized one."""
    theirs = ob.span(
        trace_id="9a" * 16,
        span_id="bc" * 8,
        name="handler",
        kind=ob.SPAN_KIND_SERVER,
        start_ns=1,
        end_ns=2,
        attrs={"faas.invocation_id": RID},
    )
    other = dict(theirs, spanId="de" * 8, attributes=ob.attributes({"faas.invocation_id": RID2}))
    sink = Sink()
    tr = translator(sink)
    tr.on_untagged_traces(protobuf.encode("traces", ob.request("traces", {}, [other, theirs])))
    other_rid = "00000000-0000-4000-8000-000000000000"
    feed(tr, invoke_events(init_ms=None, logs=("hello",)), invoke_events(rid=other_rid, at=900, init_ms=None))
    (log,) = [r for r in sink.items("logs") if attr(r, "faas.invocation_id") == RID]
    assert log["spanId"] == "bc" * 8
    # only the invocation no untagged span names is synthesized
    assert [attr(s, "faas.invocation_id") for s in sink.spans()] == [other_rid]


def test_failed_init_emits_an_error_init_span_at_once() -> None:
    """initReport with an error status: the init span is emitted right away, with the error type."""
    sink = Sink()
    tr = translator(sink)
    events = init_events()
    events[2]["record"] = {
        "initializationType": "on-demand",
        "phase": "init",
        "status": "error",
        "errorType": "Runtime.ImportModuleError",
        "metrics": {"durationMs": 12.0},
    }
    tr.handle_body(body(events))
    (span,) = sink.spans()
    assert span["name"] == "fn init"
    assert span["status"]["code"] == ob.STATUS_ERROR
    assert attr(span, "error.type") == "Runtime.ImportModuleError"
    assert span["endTimeUnixNano"] - span["startTimeUnixNano"] == 12_000_000


def test_redelivered_events_and_late_agent_data_never_make_a_ghost_invocation() -> None:
    """A re-delivered batch or agent data after the invocation ended is counted as late; a timeout SHUTDOWN
    after it finalizes nothing more for that request id."""
    sink = Sink()
    tr = translator(sink)
    first = invoke_events(init_ms=None, logs=())
    tr.handle_body(body(first + invoke_events(rid=RID2, at=500, init_ms=None, logs=())))
    tr.handle_body(body(first))
    tr.on_agent_data(RID, "traces", b"", final=False)
    tr.on_shutdown("timeout")
    assert [attr(s, "faas.invocation_id") for s in sink.spans()].count(RID) == 1
    counted = [m["sum"]["dataPoints"][0] for m in sink.metric("faas.invocations")]
    assert [attr(point, "faas.invocation_id") for point in counted].count(RID) == 1
    assert tr.stats["late_events"] == 4


def test_a_print_line_drained_after_runtime_done_still_belongs_to_its_invocation() -> None:
    """stdout is read asynchronously: a line that arrives after runtimeDone goes to the last invocation."""
    sink = Sink()
    events = invoke_events(init_ms=None, logs=())
    events.insert(2, {"time": events[1]["time"], "type": "function", "record": "late line\n"})
    feed(translator(sink), events)
    (log,) = sink.items("logs")
    (span,) = sink.spans()
    assert attr(log, "faas.invocation_id") == RID
    assert log["spanId"] == span["spanId"]


def test_malformed_emf_is_counted_and_kept_as_a_log_line() -> None:
    """An EMF document with a non-numeric value: counted as bad_emf, forwarded as a log line, no metric."""
    bad = '{"_aws":{"CloudWatchMetrics":[{"Namespace":"n","Metrics":[{"Name":"m"}]}]},"m":"lots"}'
    sink = Sink()
    tr = translator(sink)
    feed(tr, invoke_events(init_ms=None, logs=(bad,)))
    assert tr.stats["bad_emf"] == 1
    assert sink.metric("m") == []
    assert len(sink.items("logs")) == 1


def test_a_chatty_invocation_sends_its_lines_early_instead_of_holding_them() -> None:
    """Past 1000 pending lines the lines go out at once (request and trace id), the rest at the end."""
    sink = Sink()
    lines = tuple(f"line {i}" for i in range(1001))
    feed(translator(sink), invoke_events(init_ms=None, logs=lines))
    logs = sink.items("logs")
    assert [r["body"]["stringValue"] for r in logs] == list(lines)
    assert logs[0]["traceId"] == XRAY_TRACE
    assert "spanId" not in logs[0]
    assert logs[-1]["spanId"] == sink.spans()[0]["spanId"]


def test_init_span_hangs_under_the_agents_server_span_on_a_cold_start() -> None:
    """The agent reported the cold invocation: the init span joins its trace, child of its SERVER span."""
    server = ob.span(
        trace_id="aa" * 16, span_id="bb" * 8, name="fn", kind=ob.SPAN_KIND_SERVER, start_ns=1, end_ns=2
    )
    sink = Sink()
    tr = translator(sink)
    tr.on_agent_data(RID, "traces", protobuf.encode("traces", ob.request("traces", {}, [server])), final=True)
    tr.handle_body(body(init_events() + invoke_events()))
    (init,) = sink.spans()
    assert init["name"] == "fn init"
    assert init["traceId"] == "aa" * 16
    assert init["parentSpanId"] == "bb" * 8
