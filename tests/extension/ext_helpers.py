"""Small builders of OTLP requests for the extension's tests."""

from __future__ import annotations

import os
from typing import Any

from zerolag.otlp import protobuf


def traces_request(names: list[str]) -> dict[str, Any]:
    spans = [
        {
            "traceId": os.urandom(16).hex(),
            "spanId": os.urandom(8).hex(),
            "name": name,
            "kind": 1,
            "startTimeUnixNano": 1_700_000_000_000_000_000,
            "endTimeUnixNano": 1_700_000_000_001_000_000,
        }
        for name in names
    ]
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "t"}, "spans": spans}]}]}


def traces_pb(names: list[str]) -> bytes:
    return protobuf.encode("traces", traces_request(names))


def logs_pb(bodies: list[str]) -> bytes:
    records = [{"timeUnixNano": 1_700_000_000_000_000_000, "body": {"stringValue": b}} for b in bodies]
    request = {"resourceLogs": [{"scopeLogs": [{"scope": {"name": "t"}, "logRecords": records}]}]}
    return protobuf.encode("logs", request)


def metrics_pb(name: str, values: list[int]) -> bytes:
    points = [{"timeUnixNano": 1_700_000_000_000_000_000 + i, "asInt": v} for i, v in enumerate(values)]
    request = {
        "resourceMetrics": [
            {
                "scopeMetrics": [
                    {"scope": {"name": "t"}, "metrics": [{"name": name, "gauge": {"dataPoints": points}}]}
                ]
            }
        ]
    }
    return protobuf.encode("metrics", request)
