"""Thundra agent payloads → OTLP export requests (dict form). Pure functions.

Accepts both bodies of ``shared/docs/thundra-protocol.md``: the array of envelopes of ``/v1/monitoring-data``
and the composite object of ``/v1/composite-monitoring-data``. The API key is dropped at the door: it never
reaches a request, an attribute or a log line.

- Invocation → the SERVER span (its id is the agent's root span id, so the root ``Span`` merges into it).
- Span → a child span, tags as attributes, span logs as events.
- Log → a log record; Metric → one gauge per value (``thundra.<key>``).

Thundra ids are UUIDs: a trace id is the UUID's 16 bytes (a non-UUID is hashed), a span id is derived from
the UUID by hash, so the same UUID always maps to the same OTLP id and parent links survive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.ids import span_id_for, trace_id_for
from zerolag.extension.telemetry.logs import SEVERITY

Data = dict[str, Any]
_COMMON_PREFIX: Final = "application"
_SECRET_KEYS: Final = frozenset({"apiKey", "apikey", "api_key"})


class ThundraError(ValueError):
    """A body that is not a Thundra monitoring payload."""


@dataclass
class Translated:
    """The OTLP requests of one Thundra POST, with the request ids it covered."""

    traces: Data | None = None
    metrics: Data | None = None
    logs: Data | None = None
    items: dict[str, int] = field(default_factory=dict)
    request_ids: list[str] = field(default_factory=list)  # invocations whose Invocation record was in it
    partial_request_ids: list[str] = field(default_factory=list)  # spans/logs seen but no Invocation
    skipped: int = 0  # records of a type that has no OTLP form
    invalid: int = 0  # records that cannot become valid OTLP (bad timestamps, nesting too deep...)


def trace_id(uuid: object) -> str:
    """OTLP trace id for a Thundra trace UUID (its own 16 bytes when it is a UUID)."""
    text = str(uuid or "")
    hexed = text.replace("-", "").lower()
    if len(hexed) == 32 and all(c in "0123456789abcdef" for c in hexed) and hexed.strip("0"):
        return hexed
    return trace_id_for("thundra-trace/" + text)


def span_id(uuid: object) -> str:
    """OTLP span id for a Thundra span UUID ("" for an empty one)."""
    text = str(uuid or "")
    return span_id_for("thundra-span/" + text) if text else ""


def parse_body(body: bytes) -> list[Data]:
    """The data objects of a POST body, each with the composite's common fields merged in."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ThundraError(f"not JSON: {exc.__class__.__name__}") from None
    if isinstance(doc, list):
        return [
            _scrub(env["data"]) for env in doc if isinstance(env, dict) and isinstance(env.get("data"), dict)
        ]
    if isinstance(doc, dict) and isinstance(doc.get("data"), dict):
        data = doc["data"]
        children = data.get("allMonitoringData")
        if isinstance(children, list):
            common = {k: v for k, v in data.items() if k.startswith(_COMMON_PREFIX) or k == "agentVersion"}
            return [_scrub({**common, **c}) for c in children if isinstance(c, dict)]
        return [_scrub(data)]
    raise ThundraError("neither an array of envelopes nor a composite object")


def _scrub(data: Data) -> Data:
    return {k: v for k, v in data.items() if k not in _SECRET_KEYS}


def translate(body: bytes, base_resource: dict[str, object]) -> Translated:
    """Translate one POST body. Raises :class:`ThundraError` for a body that is not a Thundra payload."""
    records = parse_body(body)
    out = Translated()
    invocations = {str(r.get("spanId")) for r in records if r.get("type") == "Invocation"}
    spans: list[Data] = []
    metrics: list[Data] = []
    logs: list[Data] = []
    resource = dict(base_resource)
    for record in records:
        kind = record.get("type")
        try:
            if kind == "Invocation":
                spans.append(_checked("Span", _invocation_span(record, _root_span(records, record))))
                out.request_ids.append(_request_id(record))
            elif kind == "Span" and str(record.get("id")) not in invocations:
                spans.append(_checked("Span", _child_span(record)))
            elif kind == "Log":
                logs.append(_checked("LogRecord", _log_record(record)))
            elif kind == "Metric":
                metrics.extend(_checked("Metric", g) for g in _gauges(record))
            elif kind != "Span":
                out.skipped += 1
                continue
            record_resource = _resource(record)
            _checked("Resource", {"attributes": ob.attributes(record_resource)})
            resource.update(record_resource)
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError, RecursionError):
            out.invalid += 1  # this record only: the others of the POST are kept
    out.request_ids = [r for r in out.request_ids if r]
    if not out.request_ids:
        out.partial_request_ids = sorted({rid for r in records if (rid := _request_id(r))})
    if spans:
        out.traces, out.items["traces"] = ob.request("traces", resource, spans), len(spans)
    if metrics:
        out.metrics, out.items["metrics"] = ob.request("metrics", resource, metrics), len(metrics)
    if logs:
        out.logs, out.items["logs"] = ob.request("logs", resource, logs), len(logs)
    return out


def _resource(record: Data) -> dict[str, object]:
    tags = _tags(record)
    name = record.get("applicationName")
    return {
        k: v
        for k, v in {
            "service.name": name,
            "faas.name": name,
            "service.instance.id": record.get("applicationInstanceId"),
            "cloud.region": tags.get("aws.region") or record.get("applicationRegion"),
            "telemetry.sdk.name": "thundra",
            "telemetry.sdk.version": record.get("agentVersion"),
        }.items()
        if v
    }


def _request_id(record: Data) -> str:
    tags = record.get("tags")
    rid = tags.get("aws.lambda.invocation.request_id") if isinstance(tags, dict) else None
    return rid if isinstance(rid, str) else ""


_MAX_NS: Final = 2**64 - 1


def _ns(ms: object) -> int:
    """Epoch milliseconds to nanoseconds; ValueError unless it fits OTLP's fixed64 (so 0..~5.8e14 s)."""
    if isinstance(ms, bool) or not isinstance(ms, (int, float)):
        raise TypeError("timestamp is not a number")
    if not (0 <= ms <= _MAX_NS // 1_000_000):  # also false for NaN
        raise ValueError("timestamp out of range")
    return int(ms * 1_000_000)


def _checked(message: str, item: Data) -> Data:
    """``item`` when it encodes to an OTLP ``message`` that a standard decoder accepts (our own, with its
    nesting limit, UTF-8 and id checks: docs/otlp.md); ValueError otherwise."""
    from zerolag.otlp import protobuf

    protobuf.decode_message(message, protobuf.encode_message(message, item))
    return item


def _root_span(records: list[Data], invocation: Data) -> Data | None:
    for r in records:
        if r.get("type") == "Span" and r.get("id") == invocation.get("spanId"):
            return r
    return None


def _tags(record: Data | None, key: str = "tags") -> dict[str, object]:
    tags = record.get(key) if record else None
    return dict(tags) if isinstance(tags, dict) else {}


def _invocation_span(inv: Data, root: Data | None) -> Data:
    tags = {**_tags(root), **_tags(inv), **_tags(inv, "userTags")}
    memory = tags.get("aws.lambda.memory_limit")
    attrs: dict[str, object] = {
        **tags,
        "faas.invocation_id": tags.get("aws.lambda.invocation.request_id"),
        "faas.coldstart": bool(inv.get("coldStart")),
        "faas.trigger": "other",
        "cloud.resource_id": tags.get("aws.lambda.arn"),
        "cloud.account.id": tags.get("aws.account_no"),
        "faas.max_memory": memory * 1024 * 1024 if isinstance(memory, int) else None,
        "thundra.transaction_id": inv.get("transactionId"),
    }
    code, message = ob.STATUS_UNSET, ""
    if inv.get("timeout"):
        code, message = ob.STATUS_ERROR, "Task timed out"
        attrs["error.type"] = inv.get("errorType") or "Sandbox.Timedout"
    elif inv.get("erroneous"):
        code, message = ob.STATUS_ERROR, str(inv.get("errorMessage") or "")
        attrs["error.type"] = inv.get("errorType") or "Error"
    return ob.span(
        trace_id=trace_id(inv.get("traceId")),
        span_id=span_id(inv.get("spanId") or inv.get("id")),
        parent_span_id=span_id(root.get("parentSpanId")) if root else "",
        name=str((root or {}).get("operationName") or inv.get("applicationName") or "invocation"),
        kind=ob.SPAN_KIND_SERVER,
        start_ns=_ns(inv.get("startTimestamp")),
        end_ns=_ns(inv.get("finishTimestamp")),
        attrs=attrs,
        status_code=code,
        status_message=message,
    )


def _child_span(span: Data) -> Data:
    tags = _tags(span)
    attrs: dict[str, object] = {
        **tags,
        "thundra.class_name": span.get("className"),
        "thundra.domain_name": span.get("domainName"),
    }
    code, message = ob.STATUS_UNSET, ""
    if tags.get("error") is True:
        code, message = ob.STATUS_ERROR, str(tags.get("error.message") or "")
        attrs["error.type"] = tags.get("error.kind") or "Error"
    events = [_span_log(entry) for entry in span.get("logs") or [] if isinstance(entry, dict)]
    return ob.span(
        trace_id=trace_id(span.get("traceId")),
        span_id=span_id(span.get("id")),
        parent_span_id=span_id(span.get("parentSpanId")),
        name=str(span.get("operationName") or span.get("className") or "span"),
        kind=ob.SPAN_KIND_INTERNAL,
        start_ns=_ns(span.get("startTimestamp")),
        end_ns=_ns(span.get("finishTimestamp")),
        attrs=attrs,
        status_code=code,
        status_message=message,
        events=[e for e in events if e],
    )


def _span_log(entry: Data) -> Data:
    stamp = entry.get("timestamp")
    time_ns = _ns(stamp) if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) else 0
    fields = {k: v for k, v in entry.items() if k != "timestamp"}
    return ob.event(str(entry.get("name") or "log"), time_ns, fields)


def _log_record(log: Data) -> Data:
    level = str(log.get("logLevel") or "").upper()
    return ob.log_record(
        time_ns=_ns(log.get("logTimestamp")),
        body=log.get("logMessage"),
        severity_number=SEVERITY.get(level, 0),
        severity_text=level,
        attrs={"thundra.log_context": log.get("logContextName")},
        trace_id=trace_id(log.get("traceId")),
        span_id=span_id(log.get("spanId")),
    )


def _gauges(metric: Data) -> list[Data]:
    values = metric.get("metrics")
    if not isinstance(values, dict):
        raise TypeError("metrics is not an object")
    time_ns = _ns(metric.get("metricTimestamp"))
    attrs = {**_tags(metric), "thundra.metric_name": metric.get("metricName")}
    return [
        ob.gauge(f"thundra.{key}", "", time_ns, value, attrs)
        for key, value in values.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    ]
