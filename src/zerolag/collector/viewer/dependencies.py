"""Dependencies: the downstream services a function's client and producer spans call (DynamoDB tables,
S3 buckets, SQS queues, SNS topics, other functions, HTTP hosts), with calls, error rate and p95 latency.

The service of a span is read from its attributes (OpenTelemetry's AWS SDK, messaging, database and HTTP
conventions, as zerolag's agent and the OpenTelemetry instrumentations set them). The newest ``MAX_SPANS``
calls of the range are read; when the range holds more, the result says it was sampled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from zerolag.collector.db import Reader
from zerolag.collector.series import percentile
from zerolag.collector.viewer.timerange import TimeRange

MAX_SPANS: Final = 5_000
SPAN_KIND_CLIENT: Final = 3
SPAN_KIND_PRODUCER: Final = 4
STATUS_ERROR: Final = 2
_HOST_KEYS: Final = ("server.address", "net.peer.name", "http.host")
_URL_KEYS: Final = ("url.full", "http.url")


@dataclass
class Dependency:
    function: str
    kind: str  # dynamodb, s3, sqs, sns, lambda, aws, db, http
    name: str
    calls: int = 0
    errors: int = 0
    error_rate: float = 0.0
    p95_ms: float | None = None
    _durations: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "kind": self.kind,
            "name": self.name,
            "calls": self.calls,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "p95_ms": self.p95_ms,
        }


def _first(attrs: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, list):
            value = value[0] if value else None
        if value not in (None, ""):
            return str(value)
    return None


def service_of(attrs: dict[str, Any]) -> tuple[str, str] | None:  # noqa: PLR0911 (one return per kind)
    """``(kind, name)`` of the service a client span calls, or ``None`` when the span does not say."""
    rpc = str(attrs.get("rpc.service") or "").lower()
    if (table := _first(attrs, "aws.dynamodb.table_names")) or rpc == "dynamodb":
        return "dynamodb", table or "DynamoDB"
    if (bucket := _first(attrs, "aws.s3.bucket")) or rpc == "s3":
        return "s3", bucket or "S3"
    messaging = str(attrs.get("messaging.system") or "")
    if messaging in ("aws_sqs", "aws.sqs") or rpc == "sqs":
        return "sqs", _first(attrs, "messaging.destination.name") or "SQS"
    if messaging in ("aws_sns", "aws.sns") or rpc == "sns":
        return "sns", _first(attrs, "messaging.destination.name") or "SNS"
    if (invoked := _first(attrs, "faas.invoked_name")) or rpc == "lambda":
        return "lambda", invoked or "Lambda"
    if rpc:
        return "aws", str(attrs.get("rpc.service"))
    if db := _first(attrs, "db.system"):
        return "db", db + (f" {name}" if (name := _first(attrs, "db.name", "db.namespace")) else "")
    host = _first(attrs, *_HOST_KEYS)
    if host is None and (url := _first(attrs, *_URL_KEYS)):
        host = urlsplit(url).hostname
    return ("http", host) if host else None


@dataclass
class Result:
    dependencies: list[Dependency]
    sampled: bool  # the range held more calls than were read


def dependencies(db: Reader, rng: TimeRange, function: str | None = None) -> Result:
    """Per function and service, over the newest ``MAX_SPANS`` client/producer spans of ``rng``."""
    rows = []
    for kind in (SPAN_KIND_CLIENT, SPAN_KIND_PRODUCER):  # one ordered index range each: no sort
        where = "kind = ? AND start_ns >= ? AND start_ns < ? AND function IS NOT NULL"
        params: list[object] = [kind, rng.since_ns, rng.until_ns]
        if function:
            where += " AND function = ?"
            params.append(function)
        rows += db.execute(
            f"SELECT function, start_ns, end_ns, status_code, attributes FROM spans WHERE {where} "  # noqa: S608
            f"ORDER BY kind DESC, start_ns DESC LIMIT {MAX_SPANS + 1}",
            params,
        ).fetchall()
    rows.sort(key=lambda r: -int(r[1]))
    found: dict[tuple[str, str, str], Dependency] = {}
    for fn, start, end, status, attributes in rows[:MAX_SPANS]:
        try:
            service = service_of(json.loads(attributes))
        except (ValueError, AttributeError):
            continue
        if service is None:
            continue
        dep = found.setdefault((fn, *service), Dependency(fn, *service))
        dep.calls += 1
        dep.errors += status == STATUS_ERROR
        dep._durations.append((end - start) / 1e6)
    for dep in found.values():
        dep.error_rate = dep.errors / dep.calls
        dep.p95_ms = percentile(sorted(dep._durations), 95)
        dep._durations = []
    ordered = sorted(found.values(), key=lambda d: (d.function, -d.calls, d.kind, d.name))
    return Result(ordered, sampled=len(rows) > MAX_SPANS)
