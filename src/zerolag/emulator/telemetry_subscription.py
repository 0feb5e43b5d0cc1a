"""Validation of Telemetry API / Logs API subscriptions (contract section 3). Pure: no I/O.

``parse_subscription`` turns the body of ``PUT /2022-07-01/telemetry`` or ``PUT /2020-08-15/logs`` into a
``Subscription``, or raises ``SubscriptionError`` carrying the HTTP status and the contract's error type.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from zerolag.lambda_wire import (
    ERR_LOGS_VALIDATION,
    ERR_TELEMETRY_VALIDATION,
    LOGS_SCHEMAS,
    SANDBOX_HOSTNAMES,
    TELEMETRY_MAX_BYTES,
    TELEMETRY_MAX_ITEMS,
    TELEMETRY_SCHEMAS,
    TELEMETRY_TIMEOUT_MS,
)

Api = Literal["telemetry", "logs"]

VALID_TYPES: Final = ("platform", "function", "extension")
LOOPBACK_HOSTS: Final = ("127.0.0.1", "localhost")
RESERVED_PORT: Final = 9001  # the Runtime API's port inside Lambda


class SubscriptionError(Exception):
    """A subscription the platform refuses: ``status`` and ``error_type`` are what goes on the wire."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class Subscription:
    """One accepted subscription: what to deliver, how to batch it, and where to send it."""

    api: Api
    schema_version: str
    types: tuple[str, ...]
    max_items: int
    max_bytes: int
    timeout_ms: int
    host: str
    port: int
    path: str


def validation_error_type(api: Api) -> str:
    """The errorType of a refused body for this API."""
    return ERR_LOGS_VALIDATION if api == "logs" else ERR_TELEMETRY_VALIDATION


def parse_subscription(api: Api, body: bytes) -> Subscription:
    """Validate a subscribe body for ``api`` ("telemetry" or "logs"); raise ``SubscriptionError``."""
    err = validation_error_type(api)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SubscriptionError(400, err, f"malformed JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise SubscriptionError(400, err, "the subscription must be a JSON object")
    schema = _schema_version(api, doc.get("schemaVersion"), err)
    types = _types(doc.get("types"), err)
    items, size, timeout = _buffering(doc.get("buffering"), err)
    host, port, path = _destination(doc.get("destination"), err)
    return Subscription(api, schema, types, items, size, timeout, host, port, path)


def _schema_version(api: Api, value: object, err: str) -> str:
    if api == "logs" and value is None:
        return LOGS_SCHEMAS[0]
    allowed = LOGS_SCHEMAS if api == "logs" else TELEMETRY_SCHEMAS
    if value is None:
        raise SubscriptionError(400, err, "schemaVersion is required")
    if value not in allowed:
        raise SubscriptionError(400, err, f"schemaVersion must be one of {', '.join(allowed)}")
    return str(value)


def _types(value: object, err: str) -> tuple[str, ...]:
    if value is None:
        raise SubscriptionError(400, err, "types is required")
    if not isinstance(value, list) or not value:
        raise SubscriptionError(400, err, "types must be a non-empty array")
    for item in value:
        if item not in VALID_TYPES:
            raise SubscriptionError(400, err, f"unknown type {item!r}: expected {', '.join(VALID_TYPES)}")
    return tuple(dict.fromkeys(str(t) for t in value))


def _buffering(value: object, err: str) -> tuple[int, int, int]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise SubscriptionError(400, err, "buffering must be an object")
    return (
        _bounded(value, "maxItems", TELEMETRY_MAX_ITEMS, err),
        _bounded(value, "maxBytes", TELEMETRY_MAX_BYTES, err),
        _bounded(value, "timeoutMs", TELEMETRY_TIMEOUT_MS, err),
    )


def _bounded(doc: dict[str, object], key: str, limits: tuple[int, int, int], err: str) -> int:
    low, high, default = limits
    value = doc.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SubscriptionError(400, err, f"buffering.{key} must be an integer")
    if not low <= value <= high:
        raise SubscriptionError(400, err, f"buffering.{key} must be between {low} and {high}")
    return value


def _destination(value: object, err: str) -> tuple[str, int, str]:
    if value is None:
        raise SubscriptionError(400, err, "destination is required")
    if not isinstance(value, dict):
        raise SubscriptionError(400, err, "destination must be an object")
    if value.get("protocol") != "HTTP":
        raise SubscriptionError(400, err, "destination.protocol must be HTTP")
    uri = value.get("URI")
    if not isinstance(uri, str) or not uri:
        raise SubscriptionError(400, err, "destination.URI is required")
    return _parse_uri(uri, err)


def _parse_uri(uri: str, err: str) -> tuple[str, int, str]:
    try:
        parts = urlsplit(uri)
        port = parts.port or 80
    except ValueError as exc:
        raise SubscriptionError(400, err, f"destination.URI is not a valid URI: {uri}") from exc
    if parts.scheme != "http":
        raise SubscriptionError(400, err, "destination.URI must use http")
    host = (parts.hostname or "").lower()
    if host not in SANDBOX_HOSTNAMES and host not in LOOPBACK_HOSTS:
        raise SubscriptionError(400, err, "destination.URI host must be sandbox.localdomain or sandbox")
    if port == RESERVED_PORT:
        raise SubscriptionError(400, err, f"destination port {RESERVED_PORT} is reserved")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return "127.0.0.1", port, path
