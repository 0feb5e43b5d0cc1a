"""The agent in a real process, end of each invocation printed by the stdout exporter: the invocation span,
the tracing API (sync, async, contextvars), exceptions, metrics, log capture, sampling and timeouts."""

from __future__ import annotations

from agent_proc import run


def _by_name(line: dict) -> dict:  # type: ignore[type-arg]
    return {s["name"]: s for s in line["spans"]}


def test_invocation_span_with_nested_spans_and_decorators() -> None:
    """Context-manager and decorator spans nest under the invocation span (sync and async), ids shared."""
    lines, _ = run("""
        import asyncio
        from zerolag.agent import instrument, span, traced
        @traced()
        def work():
            with span('inner', n=1):
                pass
        @traced('async-op')
        async def aw():
            with span('in-task'):
                await asyncio.sleep(0)
        @instrument
        def handler(e, c):
            work()
            asyncio.run(aw())
            return {'statusCode': 201}
        assert handler({'httpMethod': 'GET', 'path': '/', 'requestContext': {}}, Ctx()) == {'statusCode': 201}
    """)
    (line,) = lines
    spans = _by_name(line)
    root = spans["fn"]
    assert root["attributes"]["faas.coldstart"] is True
    assert root["attributes"]["faas.invocation_id"] == "req-1"
    assert root["attributes"]["cloud.account.id"] == "123456789012"
    assert root["attributes"]["http.response.status_code"] == 201
    assert root["kind"] == 2
    assert spans["work"]["parentSpanId"] == root["spanId"]
    assert spans["inner"]["parentSpanId"] == spans["work"]["spanId"]
    assert spans["async-op"]["parentSpanId"] == root["spanId"]
    assert spans["in-task"]["parentSpanId"] == spans["async-op"]["spanId"]
    assert {s["traceId"] for s in line["spans"]} == {root["traceId"]}
    assert line["resource"]["service.name"] == "fn"


def test_second_invocation_is_warm_and_a_new_trace() -> None:
    """faas.coldstart is true only once; each invocation without incoming context is its own trace."""
    lines, _ = run("""
        from zerolag.agent import instrument
        h = instrument(lambda e, c: 1)
        h({}, Ctx('a')); h({}, Ctx('b'))
    """)
    a, b = (_by_name(x)["fn"] for x in lines)
    assert a["attributes"]["faas.coldstart"] is True
    assert b["attributes"]["faas.coldstart"] is False
    assert a["traceId"] != b["traceId"]


def test_exception_is_reraised_unchanged_and_recorded() -> None:
    """The very exception object reaches the caller; the span gets an exception event and ERROR status."""
    lines, out = run("""
        from zerolag.agent import instrument
        class Boom(Exception):
            pass
        err = Boom('bad thing')
        @instrument
        def handler(e, c):
            raise err
        try:
            handler({}, Ctx())
        except Boom as caught:
            print('same object:', caught is err)
    """)
    assert "same object: True" in out
    root = _by_name(lines[0])["fn"]
    assert root["status"] == {"code": 2, "message": "Boom: bad thing"}
    event = root["events"][0]
    assert event["name"] == "exception"
    assert event["attributes"]["exception.type"] == "Boom"
    assert "Traceback" in event["attributes"]["exception.stacktrace"]


def test_logs_and_prints_are_captured_with_trace_ids_and_still_printed() -> None:
    """logging records and print() lines carry the current span's ids, and stdout still shows them."""
    lines, out = run("""
        import logging, sys
        logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='LOG %(message)s')
        from zerolag.agent import instrument, span
        @instrument
        def handler(e, c):
            logging.getLogger('app').info('hello %s', 'world')
            with span('child'):
                print('from print')
            return 1
        handler({}, Ctx())
    """)
    assert "LOG hello world" in out
    assert "from print" in out
    logs = {rec["body"]: rec for rec in lines[0]["logs"]}
    spans = _by_name(lines[0])
    assert logs["hello world"]["severityText"] == "INFO"
    assert logs["hello world"]["spanId"] == spans["fn"]["spanId"]
    assert logs["from print"]["spanId"] == spans["child"]["spanId"]
    assert "LOG hello world" not in logs  # the handler's own stdout write is not captured twice


def test_metrics_are_aggregated_per_invocation_with_builtins() -> None:
    """Custom counters/gauges/histograms with dimensions and faas.* metrics come out per invocation."""
    lines, _ = run("""
        from zerolag.agent import instrument, counter, gauge, histogram
        @instrument
        def handler(e, c):
            counter('orders', 2, region='eu')
            counter('orders', 3, region='eu')
            counter('orders', 1, region='us')
            gauge('depth', 7)
            histogram('latency', 12.5, unit='ms')
        handler({}, Ctx())
    """)
    metrics = {m["name"]: m for m in lines[0]["metrics"]}
    points = {p[0]["region"]: p[1] for p in metrics["orders"]["points"]}
    assert points == {"eu": 5, "us": 1}
    assert metrics["depth"]["points"][0][1] == 7
    assert metrics["latency"]["points"][0][1][0] == 1
    assert metrics["faas.invocations"]["points"][0][1] == 1
    assert metrics["faas.coldstarts"]["points"][0][1] == 1


def test_incoming_traceparent_sets_trace_and_sampling() -> None:
    """An unsampled traceparent (flags 00) exports no spans but keeps logs; a sampled one continues."""
    lines, _ = run("""
        from zerolag.agent import instrument
        h = instrument(lambda e, c: print('x'))
        tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-'
        for flags in ('00', '01'):
            h({'headers': {'traceparent': tp + flags}, 'httpMethod': 'GET', 'requestContext': {}}, Ctx())
    """)
    assert lines[0]["spans"] == []
    assert lines[0]["logs"][0]["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert lines[1]["spans"][0]["parentSpanId"] == "00f067aa0ba902b7"


def test_ratio_sampling_is_decided_once_per_trace() -> None:
    """With ZEROLAG_SAMPLE_RATIO=0.5 some new traces are kept whole and the others dropped whole."""
    lines, _ = run(
        """
        from zerolag.agent import instrument, span
        @instrument
        def handler(e, c):
            with span('a'):
                with span('b'):
                    pass
        for i in range(200):
            handler({}, Ctx(str(i)))
    """,
        env={"ZEROLAG_SAMPLE_RATIO": "0.5"},
    )
    counts = [len(x["spans"]) for x in lines]
    assert set(counts) == {0, 3}
    assert 40 < counts.count(3) < 160


def test_timeout_marker_before_the_deadline() -> None:
    """A handler still running a margin before its deadline gets its open spans reported with a marker."""
    lines, _ = run(
        """
        import time
        from zerolag.agent import instrument, span
        @instrument
        def handler(e, c):
            with span('done-before'):
                pass
            with span('stuck'):
                time.sleep(1.5)
        handler({}, Ctx(ms=1000))
    """,
        env={"ZEROLAG_TIMEOUT_MARGIN_MS": "200"},
    )
    first = _by_name(lines[0])
    assert first["stuck"]["attributes"]["zerolag.timeout"] is True
    assert first["fn"]["attributes"]["zerolag.timeout"] is True
    assert "zerolag.timeout" not in first["done-before"]["attributes"]
    assert {m["name"] for m in lines[0]["metrics"]} >= {"faas.timeouts"}


def test_disabled_agent_returns_the_handler_itself() -> None:
    """ZEROLAG_ENABLED=false: instrument() returns the function unchanged and nothing is exported."""
    lines, out = run(
        """
        from zerolag.agent import instrument
        def handler(e, c):
            return 1
        print('same', instrument(handler) is handler)
    """,
        env={"ZEROLAG_ENABLED": "false"},
    )
    assert lines == []
    assert "same True" in out


def test_bounded_spans_per_invocation() -> None:
    """More spans than ZEROLAG_MAX_SPANS: the rest are dropped (counted), memory stays bounded."""
    lines, _ = run(
        """
        from zerolag.agent import instrument, span
        @instrument
        def handler(e, c):
            for i in range(500):
                with span('s'):
                    pass
        handler({}, Ctx())
    """,
        env={"ZEROLAG_MAX_SPANS": "50"},
    )
    assert len(lines[0]["spans"]) == 50


def test_testing_helpers_capture_a_handlers_telemetry() -> None:
    """zerolag.agent.testing.capture() collects the spans and logs of handlers run with a FakeContext."""
    _, out = run("""
        from zerolag.agent import instrument, span, testing
        @instrument
        def handler(e, c):
            with span('validate'):
                print('checking')
            return 'ok'
        with testing.capture() as cap:
            result = handler({}, testing.FakeContext(request_id='r-9'))
        print('result', result)
        print('spans', sorted(s.name for s in cap.spans))
        print('logs', [rec[3] for rec in cap.logs])
        print('ids', cap.jobs[0][0])
    """)
    assert "result ok" in out
    assert "spans ['fn', 'validate']" in out
    assert "logs ['checking']" in out
    assert "ids r-9" in out
