"""The local OTLP/HTTP receiver: ``/v1/traces``, ``/v1/metrics``, ``/v1/logs`` in protobuf and JSON.

Responses follow the OTLP/HTTP spec: 200 with an empty ``Export*ServiceResponse`` in the request's encoding;
400 for malformed input, 413 for oversized bodies (``server``), 415 for an unsupported content type, 404 / 405
for other paths and methods. Error bodies are a ``google.rpc.Status`` (protobuf requests) or its JSON form.

Accepted data is handed to the pipeline as protobuf (JSON is re-encoded), with the loopback protocol headers
``X-Zerolag-Request-Id`` and ``X-Zerolag-Final`` (docs/INTERFACES.md).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, Final, Protocol

from zerolag.extension.http import HttpRequest, HttpResponse
from zerolag.otlp import (
    CONTENT_TYPE_JSON,
    CONTENT_TYPE_PROTOBUF,
    PATHS,
    TOP_LEVEL_KEY,
    OtlpDecodeError,
    Signal,
)

SIGNAL_BY_PATH: Final[dict[str, Signal]] = {path: signal for signal, path in PATHS.items()}
PROTOBUF_TYPES: Final = frozenset({"application/x-protobuf", "application/protobuf"})
H_REQUEST_ID: Final = "x-zerolag-request-id"
H_FINAL: Final = "x-zerolag-final"
GRPC_INVALID_ARGUMENT: Final = 3
GRPC_UNIMPLEMENTED: Final = 12

ITEM_KEYS: Final[dict[Signal, tuple[str, str]]] = {
    "traces": ("scopeSpans", "spans"),
    "metrics": ("scopeMetrics", "metrics"),
    "logs": ("scopeLogs", "logRecords"),
}
POINT_KINDS: Final = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")
# Memory one JSON value may cost to parse whole (otlp.jsonstream); a larger object is walked field by field,
# a larger single scalar (a string of over ~4 MiB) is refused with 413.
JSON_SCAN_BYTES: Final = 8 * 1024 * 1024


class Sink(Protocol):
    def submit(self, signal: Signal, data: bytes, items: int, request_id: str | None = None) -> None: ...

    def runtime_done(self, request_id: str) -> None: ...

    def count(self, name: str, n: int = 1) -> None: ...


def status_body(code: int, message: str, protobuf: bool) -> bytes:
    """A ``google.rpc.Status`` with ``code`` and ``message``, in protobuf or JSON."""
    if protobuf:
        from zerolag.otlp import rpc_status

        return rpc_status.protobuf(code, message)
    safe = message.replace("\\", "/").replace('"', "'")
    return f'{{"code":{code},"message":"{safe}"}}'.encode()


def count_request_items(signal: Signal, request: dict[str, Any]) -> int:
    """Spans, metric data points or log records in a request in the dict form."""
    outer, inner = ITEM_KEYS[signal]
    total = 0
    for resource in request.get(TOP_LEVEL_KEY[signal], []) or []:
        for scope in resource.get(outer, []) or []:
            for item in scope.get(inner, []) or []:
                if signal != "metrics":
                    total += 1
                    continue
                for kind in POINT_KINDS:
                    body = item.get(kind)
                    if isinstance(body, dict):
                        total += len(body.get("dataPoints", []) or [])
    return total


def _protobuf_items(signal: Signal, data: bytes) -> int:
    """Check a protobuf request completely (what a standard backend would refuse: bad framing, strings that
    are not UTF-8, ids of the wrong length, nesting over 64) and count its items; nothing is built."""
    from zerolag.otlp import check

    return check.check(signal, data)


def _json_to_protobuf(signal: Signal, data: bytes) -> tuple[bytes, int]:
    """Validate and re-encode an OTLP/JSON request in bounded memory (``otlp.jsonstream``)."""
    from zerolag.otlp import jsonstream

    return jsonstream.to_protobuf(signal, data, JSON_SCAN_BYTES)


class OtlpReceiver:
    """The request handler (``HttpServer`` calls it on the connection's thread)."""

    def __init__(
        self, sink: Sink, on_agent_data: Callable[[str, Signal, bytes, bool], None] | None = None
    ) -> None:
        self.sink = sink
        self.on_agent_data = on_agent_data

    @staticmethod
    def decode_cost(headers: dict[str, str], body_bytes: int) -> int:
        """Memory needed beyond the body: a JSON request's protobuf output (never larger than the JSON) and
        one parse window; a protobuf request is checked in place."""
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        return 0 if content_type in PROTOBUF_TYPES else body_bytes + JSON_SCAN_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponse:
        signal = SIGNAL_BY_PATH.get(request.path.rstrip("/") or "/")
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        is_protobuf = content_type in PROTOBUF_TYPES
        if signal is None:
            return self._error(404, GRPC_UNIMPLEMENTED, "unknown path", is_protobuf)
        if request.method != "POST":
            return self._error(405, GRPC_UNIMPLEMENTED, "use POST", is_protobuf)
        if not is_protobuf and content_type != CONTENT_TYPE_JSON:
            return self._error(415, GRPC_INVALID_ARGUMENT, "unsupported Content-Type", False)
        decoded = self._decode(signal, request, is_protobuf)
        if isinstance(decoded, HttpResponse):
            return decoded
        data, items = decoded
        request_id = request.headers.get(H_REQUEST_ID) or None
        final = request.headers.get(H_FINAL, "").lower() == "true"

        def accept() -> None:
            # After the response is on the wire: the function is not kept waiting while the data is stored.
            if data:
                self.sink.submit(signal, data, items, request_id)
            self._note_agent(request_id, signal, data, final)
            if final and request_id:
                self.sink.runtime_done(request_id)

        if is_protobuf:
            return HttpResponse(200, b"", CONTENT_TYPE_PROTOBUF, after=accept)
        return HttpResponse(200, b"{}", CONTENT_TYPE_JSON, after=accept)

    def _decode(
        self, signal: Signal, request: HttpRequest, is_protobuf: bool
    ) -> tuple[bytes, int] | HttpResponse:
        """(protobuf, items) of a valid request; else the 400 (or 413: one JSON value too large) answer."""
        try:
            if is_protobuf:
                return request.body, _protobuf_items(signal, request.body)
            decoded = _json_to_protobuf(signal, request.body)
            request.body = b""  # the JSON is no longer needed while the response is written
            return decoded
        except OtlpDecodeError as exc:
            from zerolag.otlp.jsonstream import TooLarge

            self.sink.count("rejected")
            status = 413 if isinstance(exc, TooLarge) else 400
            # the reason names a field and a byte position; what it quotes was sent by the caller itself
            return self._error(status, GRPC_INVALID_ARGUMENT, f"invalid {signal} request: {exc}", is_protobuf)
        except RecursionError:
            self.sink.count("rejected")
            return self._error(400, GRPC_INVALID_ARGUMENT, f"invalid {signal} request", is_protobuf)

    def _note_agent(self, request_id: str | None, signal: Signal, data: bytes, final: bool) -> None:
        if request_id is None:
            if signal != "traces" or self.on_agent_data is not None:
                return
            request_id = ""  # untagged traces (e.g. OTel SDK): telemetry matches them by faas.invocation_id
        if self.on_agent_data is not None:
            self.on_agent_data(request_id, signal, data, final)
            return
        telemetry = sys.modules.get("zerolag.extension.telemetry")
        if telemetry is not None:
            telemetry.note_agent_data(request_id, signal, data, final)

    def _error(self, status: int, code: int, message: str, protobuf: bool) -> HttpResponse:
        content_type = CONTENT_TYPE_PROTOBUF if protobuf else CONTENT_TYPE_JSON
        return HttpResponse(status, status_body(code, message[:300], protobuf), content_type)
