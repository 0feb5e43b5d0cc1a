"""OTLP requests for the viewer's range pages: recent invocations with client calls, a trace that crosses
two functions, post-runtime (extension) time, custom metrics and logs. Times are relative to ``now``."""

from __future__ import annotations

from typing import Any

from collector_payloads import MS, attrs, hex_id, resource


def arm_resource(function: str) -> dict[str, Any]:
    res = resource(function)
    res["attributes"] += attrs({"host.arch": "arm64"})
    return res


def span(trace: str, sid: str, name: str, start: int, dur_ms: float, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "traceId": hex_id(trace, 16),
        "spanId": hex_id(sid, 8),
        "name": name,
        "kind": extra.pop("kind", 3),
        "startTimeUnixNano": start,
        "endTimeUnixNano": start + int(dur_ms * MS),
        "attributes": attrs(extra.pop("attributes", {})),
    }
    if parent := extra.pop("parent", None):
        out["parentSpanId"] = hex_id(parent, 8)
    out.update(extra)
    return out


def traces(res: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": res, "scopeSpans": [{"spans": spans}]}]}


def invocation(
    function: str, rid: str, start: int, dur_ms: float, *, cold: bool = False, failed: str | None = None
) -> list[dict[str, Any]]:
    """A SERVER span and three client calls: DynamoDB ``orders``, S3 ``invoices``, HTTP ``pay.example.com``
    (which fails when ``failed == "http"``)."""
    root_attrs: dict[str, Any] = {"faas.invocation_id": rid, "faas.trigger": "http", "faas.coldstart": cold}
    root: dict[str, Any] = {"kind": 2, "attributes": root_attrs}
    if failed == "error":
        root_attrs["error.type"] = "KeyError"
        root["status"] = {"code": 2, "message": "KeyError: 'id'"}
    calls = [
        span(
            rid,
            rid + "ddb",
            "DynamoDB.GetItem",
            start + MS,
            10,
            parent=rid + "root",
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "DynamoDB",
                "aws.dynamodb.table_names": "orders",
            },
        ),
        span(
            rid,
            rid + "s3",
            "S3.PutObject",
            start + 12 * MS,
            20,
            parent=rid + "root",
            attributes={"rpc.system": "aws-api", "rpc.service": "S3", "aws.s3.bucket": "invoices"},
        ),
        span(
            rid,
            rid + "http",
            "POST",
            start + 40 * MS,
            30,
            parent=rid + "root",
            attributes={"http.request.method": "POST", "server.address": "pay.example.com"},
            status={"code": 2, "message": "503"} if failed == "http" else {},
        ),
    ]
    return [span(rid, rid + "root", function, start, dur_ms, **root), *calls]


def platform(
    function: str,
    rid: str,
    at: int,
    *,
    billed: float,
    size: float,
    used: float,
    post_ms: float | None = None,
    init: float | None = None,
) -> dict[str, Any]:
    point = attrs({"faas.invocation_id": rid})
    values = [
        ("aws.lambda.billed_duration", "ms", billed),
        ("aws.lambda.memory_size", "MiBy", size),
        ("aws.lambda.max_memory_used", "MiBy", used),
    ]
    if post_ms is not None:
        values.append(("aws.lambda.post_runtime_duration", "ms", post_ms))
    if init is not None:
        values.append(("aws.lambda.init_duration", "ms", init))
    metrics = [
        {
            "name": n,
            "unit": u,
            "gauge": {"dataPoints": [{"timeUnixNano": at, "asDouble": v, "attributes": point}]},
        }
        for n, u, v in values
    ]
    return {"resourceMetrics": [{"resource": resource(function), "scopeMetrics": [{"metrics": metrics}]}]}


def custom_metric(function: str, name: str, at: int, value: float) -> dict[str, Any]:
    metric = {"name": name, "unit": "1", "gauge": {"dataPoints": [{"timeUnixNano": at, "asDouble": value}]}}
    return {"resourceMetrics": [{"resource": resource(function), "scopeMetrics": [{"metrics": [metric]}]}]}


def logs(function: str, rid: str, at: int, lines: list[tuple[int, str]]) -> dict[str, Any]:
    records = [
        {
            "timeUnixNano": at + i * MS,
            "severityNumber": sev,
            "severityText": {9: "INFO", 13: "WARN", 17: "ERROR"}[sev],
            "body": {"stringValue": text},
            "attributes": attrs({"faas.invocation_id": rid}),
        }
        for i, (sev, text) in enumerate(lines)
    ]
    return {"resourceLogs": [{"resource": resource(function), "scopeLogs": [{"logRecords": records}]}]}


def crossing_trace(start: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``checkout`` publishes to SNS; ``mailer`` consumes it in the same trace (traceparent in the message),
    and its span also links to an older trace."""
    t = "cross-trace"
    producer = [
        span(
            t,
            "co-root",
            "checkout",
            start,
            80,
            kind=2,
            attributes={"faas.invocation_id": "co-1", "faas.trigger": "http"},
        ),
        span(
            t,
            "co-pub",
            "SNS.Publish",
            start + 5 * MS,
            10,
            kind=4,
            parent="co-root",
            attributes={
                "rpc.system": "aws-api",
                "rpc.service": "SNS",
                "messaging.system": "aws_sns",
                "messaging.destination.name": "orders-topic",
            },
        ),
    ]
    consumer = [
        span(
            t,
            "ml-root",
            "mailer",
            start + 20 * MS,
            40,
            kind=5,
            parent="co-pub",
            attributes={"faas.invocation_id": "ml-1", "faas.trigger": "pubsub"},
            links=[
                {
                    "traceId": hex_id("older-trace", 16),
                    "spanId": hex_id("older", 8),
                    "attributes": attrs({"why": "batch"}),
                }
            ],
        ),
        span(
            t,
            "ml-send",
            "POST",
            start + 25 * MS,
            20,
            parent="ml-root",
            attributes={"url.full": "https://smtp.example.net/send"},
        ),
    ]
    return traces(resource("checkout"), producer), traces(resource("mailer"), consumer)
