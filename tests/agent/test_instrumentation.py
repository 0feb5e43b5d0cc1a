"""Lazy auto-instrumentation in real processes with real loopback HTTP: libraries are patched only when
imported; urllib3, requests, http.client and botocore calls become client spans with propagation."""

from __future__ import annotations

from agent_proc import run
from agent_sink import Sink


def test_import_of_the_agent_loads_no_heavy_stdlib_module() -> None:
    """import zerolag.agent + instrument() imports none of json, http.client, logging, threading, uuid,
    socket, and patches no library the code did not import."""
    _, out = run(
        """
        import sys
        from zerolag.agent import instrument
        instrument(lambda e, c: 1)
        heavy = [m for m in ('json', 'http.client', 'logging', 'threading', 'uuid', 'socket', 'urllib3',
                             'botocore', 'requests', 'opentelemetry') if m in sys.modules]
        print('heavy', heavy)
    """,
        env={"ZEROLAG_EXPORTER": "extension"},
    )
    assert "heavy []" in out


def test_http_clients_get_spans_and_propagate(sink: Sink) -> None:
    """urllib.request (http.client), urllib3 and requests each give one CLIENT span (no nested duplicates),
    with method, URL without credentials, status, and a traceparent header naming that span."""
    lines, _ = run(f"""
        from zerolag.agent import instrument
        @instrument
        def handler(e, c):
            import urllib.request, urllib3, requests
            urllib.request.urlopen('http://127.0.0.1:{sink.port}/a?token=s3cret').read()
            urllib3.PoolManager().request('GET', 'http://user:pw@127.0.0.1:{sink.port}/b')
            requests.get('http://127.0.0.1:{sink.port}/c', timeout=10)
        handler({{}}, Ctx())
    """)
    spans = [s for s in lines[0]["spans"] if s["kind"] == 3]
    urls = sorted(s["attributes"]["url.full"] for s in spans)
    base = f"http://127.0.0.1:{sink.port}"
    assert urls == [f"{base}/a?token=[REDACTED]", f"{base}/b", f"{base}/c"]
    assert all(s["attributes"]["http.response.status_code"] == 200 for s in spans)
    assert all(s["attributes"]["http.request.method"] == "GET" for s in spans)


def test_http_client_propagates_traceparent(sink: Sink) -> None:
    """The traceparent header the server receives names the client span of the request."""
    lines, out = run(f"""
        import http.client
        from zerolag.agent import instrument
        @instrument
        def handler(e, c):
            conn = http.client.HTTPConnection('127.0.0.1', {sink.port}, timeout=10)
            conn.request('POST', '/v1/traces', body=b'', headers={{'Content-Type': 'application/x-protobuf'}})
            print('status', conn.getresponse().status)
        handler({{}}, Ctx())
    """)
    assert "status 200" in out
    (span,) = [s for s in lines[0]["spans"] if s["kind"] == 3]
    received = sink.received[0].headers["traceparent"]
    assert received == f"00-{span['traceId']}-{span['spanId']}-01"


def test_botocore_calls_become_spans_and_carry_trace_context(moto_url: str) -> None:
    """SQS calls against moto give spans with service, operation, region, AWS request id; the message
    sent carries the traceparent of its PRODUCER span; an API error is recorded with its code."""
    lines, out = run(
        """
        import boto3, botocore.exceptions
        from zerolag.agent import instrument
        @instrument
        def handler(e, c):
            sqs = boto3.client('sqs')
            url = sqs.create_queue(QueueName='q1')['QueueUrl']
            sqs.send_message(QueueUrl=url, MessageBody='hi')
            msg = sqs.receive_message(QueueUrl=url, MessageAttributeNames=['All'])['Messages'][0]
            print('tp', msg['MessageAttributes']['traceparent']['StringValue'])
            try:
                sqs.get_queue_url(QueueName='missing')
            except botocore.exceptions.ClientError:
                print('client error raised')
        handler({}, Ctx())
    """,
        env={
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    assert "client error raised" in out
    spans = {s["name"]: s for s in lines[0]["spans"]}
    send = spans["SQS.SendMessage"]
    assert send["kind"] == 4
    assert send["attributes"]["rpc.method"] == "SendMessage"
    assert send["attributes"]["cloud.region"] == "us-east-1"
    assert send["attributes"]["aws.request_id"]
    tp = next(line.split()[1] for line in out.splitlines() if line.startswith("tp "))
    assert tp == f"00-{send['traceId']}-{send['spanId']}-01"
    failed = spans["SQS.GetQueueUrl"]
    assert failed["status"]["code"] == 2
    assert "NonExistentQueue" in failed["attributes"]["error.type"]
    assert not any(s["kind"] == 3 and s["name"] in ("GET", "POST") for s in lines[0]["spans"])


def test_instrumentation_can_be_disabled() -> None:
    """ZEROLAG_DISABLE_INSTRUMENTATIONS=http.client leaves http.client unpatched."""
    _, out = run(
        """
        from zerolag.agent import instrument
        instrument(lambda e, c: 1)
        import http.client
        print('patched', getattr(http.client.HTTPConnection.request, '_zerolag', False))
    """,
        env={"ZEROLAG_DISABLE_INSTRUMENTATIONS": "http.client"},
    )
    assert "patched False" in out


def test_propagation_into_sns_batches_and_lambda_client_context() -> None:
    """inject() adds traceparent to SNS/SQS message attributes (without touching the caller's dicts, keeping
    user attributes, never beyond 10) and to a Lambda Invoke's base64 client context."""
    import base64
    import json

    from zerolag.agent.inst_botocore import inject

    tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    params = {"TopicArn": "arn:aws:sns:us-east-1:1:t", "MessageAttributes": {"k": {"DataType": "String"}}}
    out = inject("sns", "Publish", params, tp)
    assert out["MessageAttributes"]["traceparent"] == {"DataType": "String", "StringValue": tp}
    assert "k" in out["MessageAttributes"]
    assert "traceparent" not in params["MessageAttributes"]
    full = {f"a{i}": {"DataType": "String", "StringValue": "x"} for i in range(10)}
    assert (
        "traceparent"
        not in inject("sqs", "SendMessage", {"MessageAttributes": full}, tp)["MessageAttributes"]
    )
    batch = inject("sqs", "SendMessageBatch", {"Entries": [{"Id": "1"}, {"Id": "2"}]}, tp)
    assert all(e["MessageAttributes"]["traceparent"]["StringValue"] == tp for e in batch["Entries"])
    existing = base64.b64encode(json.dumps({"custom": {"user": "1"}}).encode()).decode()
    ctx = json.loads(
        base64.b64decode(inject("lambda", "Invoke", {"ClientContext": existing}, tp)["ClientContext"])
    )
    assert ctx["custom"] == {"user": "1", "traceparent": tp}
    assert inject("s3", "PutObject", {"Bucket": "b"}, tp) == {"Bucket": "b"}


def test_direct_otlp_exporter_delivers_at_the_end_of_each_invocation(sink: Sink) -> None:
    """Without the extension, each invocation's spans, metrics and logs are POSTed to ZEROLAG_OTLP_ENDPOINT
    with the configured headers before the handler's result is returned."""
    _, out = run(
        """
        from zerolag.agent import instrument, span
        @instrument
        def handler(e, c):
            with span('work'):
                print('working')
            return 'r'
        print('result', handler({}, Ctx('a')), handler({}, Ctx('b')))
    """,
        env={
            "ZEROLAG_EXPORTER": "",
            "ZEROLAG_REPORT_LOCAL": "false",
            "ZEROLAG_OTLP_ENDPOINT": sink.url,
            "ZEROLAG_OTLP_HEADERS": "x-api-key=k1",
        },
    )
    assert "result r r" in out
    assert {r.path for r in sink.received} == {"/v1/traces", "/v1/metrics", "/v1/logs"}
    assert {r.headers["x-api-key"] for r in sink.received} == {"k1"}
    names = sorted(s["name"] for s in sink.spans())
    assert names == ["fn", "fn", "work", "work"]


def test_captured_event_is_redacted() -> None:
    """ZEROLAG_CAPTURE_EVENT=true attaches the event as JSON with sensitive values replaced."""
    import json

    lines, _ = run(
        """
        from zerolag.agent import instrument
        h = instrument(lambda e, c: None)
        h({'user': 'ann', 'password': 'hunter2', 'headers': {'Authorization': 'Bearer x'}}, Ctx())
    """,
        env={"ZEROLAG_CAPTURE_EVENT": "true"},
    )
    captured = json.loads(lines[0]["spans"][0]["attributes"]["faas.event"])
    assert captured == {"user": "ann", "password": "[REDACTED]", "headers": {"Authorization": "[REDACTED]"}}
