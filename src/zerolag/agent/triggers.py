"""What invoked the function, read from the event's shape: attributes and incoming trace context.

``detect(event)`` returns a ``Trigger``: the OTel ``faas.trigger`` value, an event-source label, the span
kind, attributes per the OTel FaaS/HTTP/messaging conventions, and the W3C ``traceparent`` / X-Ray header
carried by the event (HTTP headers, SQS/SNS message attributes, SQS ``AWSTraceHeader``), if any. Pure: no I/O.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SERVER, CONSUMER = 2, 5


class Trigger:
    __slots__ = ("attributes", "kind", "source", "traceparent", "trigger", "xray")

    def __init__(  # noqa: PLR0917
        self,
        trigger: str,
        source: str,
        kind: int = SERVER,
        attributes: dict[str, Any] | None = None,
        traceparent: str | None = None,
        xray: str | None = None,
    ) -> None:
        self.trigger = trigger
        self.source = source
        self.kind = kind
        self.attributes = attributes if attributes is not None else {}
        self.traceparent = traceparent
        self.xray = xray


def _lower_headers(event: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    multi = event.get("multiValueHeaders")
    if isinstance(multi, dict):
        for k, v in multi.items():
            if isinstance(v, list) and v:
                headers[str(k).lower()] = ",".join(str(x) for x in v)
    single = event.get("headers")
    if isinstance(single, dict):
        for k, v in single.items():
            if v is not None:
                headers[str(k).lower()] = str(v)
    return headers


def _http(event: dict[str, Any], source: str, capture_headers: bool) -> Trigger:
    headers = _lower_headers(event)
    ctx = event.get("requestContext") if isinstance(event.get("requestContext"), dict) else {}
    assert isinstance(ctx, dict)
    attrs: dict[str, Any] = {"url.scheme": headers.get("x-forwarded-proto", "https")}
    http_ctx = ctx.get("http")
    if isinstance(http_ctx, dict):  # payload 2.0: API Gateway HTTP API and function URLs
        attrs["http.request.method"] = http_ctx.get("method", "")
        attrs["url.path"] = event.get("rawPath") or http_ctx.get("path", "")
        if event.get("rawQueryString"):
            attrs["url.query"] = event["rawQueryString"]
        route = str(event.get("routeKey", ""))
        if route and route != "$default":
            attrs["http.route"] = route.partition(" ")[2] or route
        if http_ctx.get("sourceIp"):
            attrs["client.address"] = http_ctx["sourceIp"]
    else:  # payload 1.0: API Gateway REST API and ALB
        attrs["http.request.method"] = event.get("httpMethod", "")
        attrs["url.path"] = event.get("path", "")
        if event.get("resource"):
            attrs["http.route"] = event["resource"]
        identity = ctx.get("identity")
        if isinstance(identity, dict) and identity.get("sourceIp"):
            attrs["client.address"] = identity["sourceIp"]
        query = event.get("queryStringParameters")
        if isinstance(query, dict) and query:
            attrs["url.query"] = "&".join(f"{k}={v}" for k, v in query.items())
    host = ctx.get("domainName") or headers.get("host")
    if host:
        attrs["server.address"] = host
    if "user-agent" in headers:
        attrs["user_agent.original"] = headers["user-agent"]
    if capture_headers:
        for name, value in headers.items():
            attrs["http.request.header." + name] = [value]
    xray = headers.get("x-amzn-trace-id")
    return Trigger("http", source, SERVER, attrs, headers.get("traceparent"), xray)


def _queue_name(arn: object) -> str:
    return str(arn).rsplit(":", 1)[-1] if arn else ""


def _records(event: dict[str, Any], record: dict[str, Any]) -> Trigger | None:
    source = record.get("eventSource") or record.get("EventSource")
    count = len(event["Records"])
    if source == "aws:sqs":
        attrs = {
            "messaging.system": "aws_sqs",
            "messaging.operation.type": "process",
            "messaging.destination.name": _queue_name(record.get("eventSourceARN")),
            "messaging.batch.message_count": count,
        }
        mattrs = record.get("messageAttributes") or {}
        tp = mattrs.get("traceparent", {}).get("stringValue") if isinstance(mattrs, dict) else None
        xray = (record.get("attributes") or {}).get("AWSTraceHeader")
        return Trigger("pubsub", "aws:sqs", CONSUMER, attrs, tp, xray)
    if source == "aws:sns":
        sns = record.get("Sns") or {}
        attrs = {
            "messaging.system": "aws_sns",
            "messaging.operation.type": "process",
            "messaging.destination.name": _queue_name(sns.get("TopicArn")),
            "messaging.batch.message_count": count,
        }
        mattrs = sns.get("MessageAttributes") or {}
        tp = mattrs.get("traceparent", {}).get("Value") if isinstance(mattrs, dict) else None
        return Trigger("pubsub", "aws:sns", CONSUMER, attrs, tp)
    if source == "aws:s3":
        s3 = record.get("s3") or {}
        attrs = {
            "aws.s3.bucket": (s3.get("bucket") or {}).get("name", ""),
            "aws.s3.key": (s3.get("object") or {}).get("key", ""),
            "faas.document.operation": str(record.get("eventName", "")),
            "faas.document.collection": (s3.get("bucket") or {}).get("name", ""),
        }
        return Trigger("datasource", "aws:s3", CONSUMER, attrs)
    if source == "aws:dynamodb":
        arn = str(record.get("eventSourceARN", ""))
        table = arn.split(":table/", 1)[-1].split("/", 1)[0] if ":table/" in arn else ""
        attrs = {"aws.dynamodb.table_names": [table], "faas.document.collection": table}
        attrs["messaging.batch.message_count"] = count
        return Trigger("datasource", "aws:dynamodb", CONSUMER, attrs)
    if source == "aws:kinesis":
        arn = str(record.get("eventSourceARN", ""))
        attrs = {
            "aws.kinesis.stream_name": arn.rsplit("/", 1)[-1],
            "messaging.system": "aws_kinesis",
            "messaging.batch.message_count": count,
        }
        return Trigger("pubsub", "aws:kinesis", CONSUMER, attrs)
    return None


def detect(event: object, capture_headers: bool = True) -> Trigger:
    """The trigger of an invocation, from the event's shape; ``other`` when nothing matches."""
    if not isinstance(event, dict):
        return Trigger("other", "unknown")
    try:
        return _detect(event, capture_headers)
    except (AttributeError, TypeError, KeyError, IndexError):
        return Trigger("other", "unknown")


def _detect(event: dict[str, Any], capture_headers: bool) -> Trigger:  # noqa: PLR0911 - one per shape
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        found = _records(event, records[0])
        if found is not None:
            return found
    ctx = event.get("requestContext")
    if isinstance(ctx, dict):
        if "elb" in ctx:
            return _http(event, "aws:elb", capture_headers)
        if event.get("version") == "2.0" or "http" in ctx:
            domain = str(ctx.get("domainName", ""))
            source = "aws:lambda:url" if ".lambda-url." in domain else "aws:apigateway:v2"
            return _http(event, source, capture_headers)
        if "httpMethod" in event:
            return _http(event, "aws:apigateway:v1", capture_headers)
    if "detail-type" in event and "source" in event:
        if event.get("detail-type") == "Scheduled Event" and event.get("source") == "aws.events":
            rules = event.get("resources") or []
            attrs: dict[str, Any] = {"faas.time": str(event.get("time", ""))}
            if rules:
                attrs["faas.cron"] = str(rules[0]).rsplit("/", 1)[-1]
            return Trigger("timer", "aws:scheduled", SERVER, attrs)
        attrs = {
            "aws.eventbridge.source": str(event["source"]),
            "aws.eventbridge.detail_type": str(event["detail-type"]),
        }
        return Trigger("pubsub", "aws:eventbridge", CONSUMER, attrs)
    return Trigger("other", "unknown")
