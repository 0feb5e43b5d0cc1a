"""Find the agent's invocation span ids in the (possibly partial) trace batches it sent for one request.

A complete agent batch holds its SERVER span. After a timeout or crash the agent's invocation span never
ended, so only its finished children were sent: their common missing parent is the invocation span's id.
The synthesized error span takes that id, so the orphans get their parent back. Decoding is lazy: only an
invocation that needs the ids (an error, or logs to correlate) pays for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from zerolag.extension.telemetry.state import AgentIds, AgentView

_log = logging.getLogger(__name__)


def resolve(agent: AgentView) -> AgentIds | None:
    """The agent's invocation ids for this request, decoding its trace batches once (cached on ``agent``)."""
    if agent.ids_resolved:
        return agent.ids
    requests = []
    for payload in agent.trace_batches:
        decoded = _decode(payload)
        if decoded is not None:
            requests.append(decoded)
    agent.ids = ids_from_requests(requests)
    agent.ids_resolved = True
    return agent.ids


def _decode(payload: bytes) -> dict[str, Any] | None:
    try:
        from zerolag.otlp import protobuf
    except ImportError:  # pragma: no cover - the codec ships with the package
        return None
    try:
        decoded = protobuf.decode("traces", payload)
    except ValueError:
        _log.debug("an agent trace batch did not decode")
        return None
    return decoded if isinstance(decoded, dict) else None


def _spans(requests: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for req in requests:
        for rs in req.get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                out.extend(s for s in ss.get("spans", []) if isinstance(s, dict))
    return out


def ids_from_requests(requests: Iterable[dict[str, Any]]) -> AgentIds | None:
    """The invocation ids in decoded OTLP trace requests: the SERVER span, else the missing parent."""
    spans = _spans(requests)
    if not spans:
        return None
    for span in spans:
        if span.get("kind") == 2 and span.get("traceId") and span.get("spanId"):
            return AgentIds(span["traceId"], span["spanId"], span.get("parentSpanId") or "", server=True)
    known = {s.get("spanId") for s in spans}
    for span in spans:
        parent = span.get("parentSpanId") or ""
        if parent and parent not in known and span.get("traceId"):
            return AgentIds(span["traceId"], parent)
    first = spans[0]
    trace_id = first.get("traceId")
    return AgentIds(trace_id, "") if isinstance(trace_id, str) and trace_id else None


INVOCATION_ID_KEYS = ("faas.invocation_id", "faas.execution")


class UntaggedBatch:
    """A trace batch that arrived without ``X-Zerolag-Request-Id`` (e.g. the OpenTelemetry SDK's exporter),
    decoded at most once, and only if an invocation without agent data looks for its SERVER span."""

    __slots__ = ("decoded", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.decoded: dict[str, Any] | None = None

    def spans(self) -> list[dict[str, Any]]:
        if self.decoded is None:
            self.decoded = _decode(self.payload) or {}
            self.payload = b""
        return _spans([self.decoded])


def match_untagged(batches: Iterable[UntaggedBatch], request_id: str) -> AgentIds | None:
    """The SERVER span whose ``faas.invocation_id`` (or older ``faas.execution``) is ``request_id``."""
    for batch in batches:
        for span in batch.spans():
            if span.get("kind") != 2 or not span.get("traceId") or not span.get("spanId"):
                continue
            for kv in span.get("attributes") or []:
                if (
                    kv.get("key") in INVOCATION_ID_KEYS
                    and kv.get("value", {}).get("stringValue") == request_id
                ):
                    return AgentIds(
                        span["traceId"], span["spanId"], span.get("parentSpanId") or "", server=True
                    )
    return None
