"""Trigger detection from real event shapes (AWS documentation samples, trimmed)."""

from __future__ import annotations

from typing import Any

import pytest

from zerolag.agent.triggers import CONSUMER, SERVER, detect

TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

APIGW_V1 = {
    "resource": "/orders/{id}",
    "path": "/orders/7",
    "httpMethod": "GET",
    "headers": {"Host": "abc.execute-api.us-east-1.amazonaws.com", "traceparent": TP, "User-Agent": "curl/8"},
    "multiValueHeaders": {"Cookie": ["a=1", "b=2"]},
    "queryStringParameters": {"token": "t0p", "page": "2"},
    "requestContext": {"resourcePath": "/orders/{id}", "stage": "prod", "identity": {"sourceIp": "1.2.3.4"}},
}
APIGW_V2 = {
    "version": "2.0",
    "routeKey": "POST /orders",
    "rawPath": "/orders",
    "rawQueryString": "a=1",
    "headers": {"traceparent": TP},
    "requestContext": {
        "apiId": "abc",
        "domainName": "abc.execute-api.us-east-1.amazonaws.com",
        "http": {"method": "POST", "path": "/orders", "sourceIp": "1.2.3.4", "userAgent": "curl"},
    },
}
FUNCTION_URL = {
    "version": "2.0",
    "routeKey": "$default",
    "rawPath": "/",
    "headers": {},
    "requestContext": {
        "domainName": "xyz.lambda-url.us-east-1.on.aws",
        "http": {"method": "GET", "path": "/"},
    },
}
ALB = {
    "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},
    "httpMethod": "GET",
    "path": "/health",
    "headers": {"x-amzn-trace-id": "Root=1-5759e988-bd862e3fe1be46a994272793"},
}
SQS = {
    "Records": [
        {
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:my-queue",
            "messageAttributes": {"traceparent": {"stringValue": TP, "dataType": "String"}},
            "attributes": {"AWSTraceHeader": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"},
        }
    ]
}
SNS = {
    "Records": [
        {
            "EventSource": "aws:sns",
            "Sns": {
                "TopicArn": "arn:aws:sns:us-east-1:1:topic-a",
                "MessageAttributes": {"traceparent": {"Type": "String", "Value": TP}},
            },
        }
    ]
}
S3 = {
    "Records": [
        {
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "k.txt"}},
        }
    ]
}
DDB = {
    "Records": [
        {
            "eventSource": "aws:dynamodb",
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/Orders/stream/2024",
        }
    ]
}
KINESIS = {
    "Records": [{"eventSource": "aws:kinesis", "eventSourceARN": "arn:aws:kinesis:us-east-1:1:stream/clicks"}]
}
EVENTBRIDGE = {"source": "com.shop", "detail-type": "OrderPlaced", "detail": {}}
SCHEDULED = {
    "source": "aws.events",
    "detail-type": "Scheduled Event",
    "time": "2024-01-01T00:00:00Z",
    "resources": ["arn:aws:events:us-east-1:1:rule/nightly"],
}


@pytest.mark.parametrize(
    ("event", "trigger", "source", "kind"),
    [
        (APIGW_V1, "http", "aws:apigateway:v1", SERVER),
        (APIGW_V2, "http", "aws:apigateway:v2", SERVER),
        (FUNCTION_URL, "http", "aws:lambda:url", SERVER),
        (ALB, "http", "aws:elb", SERVER),
        (SQS, "pubsub", "aws:sqs", CONSUMER),
        (SNS, "pubsub", "aws:sns", CONSUMER),
        (S3, "datasource", "aws:s3", CONSUMER),
        (DDB, "datasource", "aws:dynamodb", CONSUMER),
        (KINESIS, "pubsub", "aws:kinesis", CONSUMER),
        (EVENTBRIDGE, "pubsub", "aws:eventbridge", CONSUMER),
        (SCHEDULED, "timer", "aws:scheduled", SERVER),
        ({"anything": 1}, "other", "unknown", SERVER),
        ("not a dict", "other", "unknown", SERVER),
    ],
)
def test_trigger_is_detected_from_the_event_shape(event: Any, trigger: str, source: str, kind: int) -> None:
    """Each event source maps to its faas.trigger, source label and span kind."""
    t = detect(event)
    assert (t.trigger, t.source, t.kind) == (trigger, source, kind)


def test_http_attributes_of_a_rest_api_event() -> None:
    """API Gateway v1: method, path, route, client address, user agent, query and headers."""
    a = detect(APIGW_V1).attributes
    assert a["http.request.method"] == "GET"
    assert a["url.path"] == "/orders/7"
    assert a["http.route"] == "/orders/{id}"
    assert a["client.address"] == "1.2.3.4"
    assert a["user_agent.original"] == "curl/8"
    assert a["url.query"] == "token=t0p&page=2"
    assert a["http.request.header.cookie"] == ["a=1,b=2"]


def test_http_api_route_and_query() -> None:
    """API Gateway v2: route from routeKey without the method, raw query string, domain."""
    a = detect(APIGW_V2).attributes
    assert a["http.route"] == "/orders"
    assert a["url.query"] == "a=1"
    assert a["server.address"] == "abc.execute-api.us-east-1.amazonaws.com"


def test_trace_context_carried_by_events() -> None:
    """traceparent from HTTP headers, SQS and SNS message attributes; X-Ray from ALB and SQS."""
    assert detect(APIGW_V1).traceparent == TP
    assert detect(APIGW_V2).traceparent == TP
    assert detect(SQS).traceparent == TP
    assert detect(SNS).traceparent == TP
    assert detect(SQS).xray is not None
    assert "Root=1-5759e988" in detect(SQS).xray
    assert detect(ALB).xray == "Root=1-5759e988-bd862e3fe1be46a994272793"


def test_messaging_and_datasource_attributes() -> None:
    """Queue, topic, bucket, key, table and stream names come from the records."""
    assert detect(SQS).attributes["messaging.destination.name"] == "my-queue"
    assert detect(SNS).attributes["messaging.destination.name"] == "topic-a"
    assert detect(S3).attributes["aws.s3.key"] == "k.txt"
    assert detect(DDB).attributes["aws.dynamodb.table_names"] == ["Orders"]
    assert detect(KINESIS).attributes["aws.kinesis.stream_name"] == "clicks"
    assert detect(SCHEDULED).attributes["faas.cron"] == "nightly"


def test_headers_can_be_left_out() -> None:
    """capture_headers=False records no http.request.header.* attributes."""
    assert not any(
        k.startswith("http.request.header.") for k in detect(APIGW_V1, capture_headers=False).attributes
    )


def test_malformed_events_never_raise() -> None:
    """Odd shapes (wrong types inside) degrade to 'other' instead of raising."""
    assert detect({"Records": [{"eventSource": "aws:sqs", "messageAttributes": 5}]}).trigger == "pubsub"
    assert detect({"requestContext": {"http": "x"}, "version": "2.0"}).trigger in ("http", "other")
    assert detect({"Records": "x"}).trigger == "other"
