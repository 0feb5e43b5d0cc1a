"""Subscribe to the Telemetry API (``PUT /2022-07-01/telemetry``), newest schema first, falling back.

A 400 ``ValidationError`` that names the schema makes us try the next older schema; any other refusal ends
the attempt. The caller logs the outcome and keeps working without telemetry when refused.
"""

from __future__ import annotations

import http.client
import json
import logging
from dataclasses import dataclass
from typing import Final

from zerolag.lambda_wire import (
    H_EXTENSION_ID,
    TELEMETRY_SCHEMAS,
    TELEMETRY_SUBSCRIBE,
    TelemetrySubscription,
)

_log = logging.getLogger(__name__)

TYPES: Final = ("platform", "function", "extension")
# Small per-invocation cost: the smallest allowed item count, the default byte bound and a short timeout,
# so platform.runtimeDone reaches us within ~25 ms of the response (the flush policy waits for it) while
# a chatty function still gets one delivery per 1000 lines rather than one per line.
BUFFERING: Final = {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25}


@dataclass(frozen=True)
class SubscribeResult:
    """What the platform answered: ``schema`` is the accepted schema version, or None when refused."""

    schema: str | None
    status: int
    message: str

    @property
    def ok(self) -> bool:
        return self.schema is not None


def subscription_body(schema: str, uri: str) -> TelemetrySubscription:
    """The PUT body for one schema version."""
    return {
        "schemaVersion": schema,
        "types": list(TYPES),
        "buffering": dict(BUFFERING),  # type: ignore[typeddict-item]
        "destination": {"protocol": "HTTP", "URI": uri},
    }


def subscribe(
    runtime_api: str,
    extension_id: str,
    uri: str,
    schemas: tuple[str, ...] = tuple(reversed(TELEMETRY_SCHEMAS)),
    timeout: float = 5.0,
) -> SubscribeResult:
    """Subscribe with the newest schema in ``schemas`` the platform accepts."""
    last = SubscribeResult(None, 0, "no schema offered")
    for schema in schemas:
        last = _put(runtime_api, extension_id, subscription_body(schema, uri), timeout)
        if last.ok or not _schema_rejected(last):
            return last
        _log.info("telemetry schema %s refused, trying an older one", schema)
    return last


def _schema_rejected(result: SubscribeResult) -> bool:
    return result.status == 400 and "ValidationError" in result.message


def _put(runtime_api: str, extension_id: str, body: TelemetrySubscription, timeout: float) -> SubscribeResult:
    host, _, port = runtime_api.rpartition(":")
    conn = http.client.HTTPConnection(
        host or runtime_api, int(port) if port.isdigit() else 80, timeout=timeout
    )
    try:
        conn.request(
            "PUT",
            TELEMETRY_SUBSCRIBE,
            body=json.dumps(body).encode(),
            headers={H_EXTENSION_ID: extension_id, "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        text = resp.read().decode("utf-8", "replace")
    except OSError as exc:
        return SubscribeResult(None, 0, f"{exc.__class__.__name__}: {exc}")
    finally:
        conn.close()
    return interpret(str(body["schemaVersion"]), resp.status, text)


def interpret(schema: str, status: int, text: str) -> SubscribeResult:
    """200/202 accept, unless the body is an error object (RIE answers 202 ``Telemetry.NotSupported``)."""
    error = ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("errorType"):
        error = f"{parsed.get('errorType')}: {parsed.get('errorMessage', '')}"
    if status in (200, 202) and not error:
        return SubscribeResult(schema, status, text.strip()[:200])
    return SubscribeResult(None, status, (error or text.strip())[:500])
