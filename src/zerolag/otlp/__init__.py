"""The OTLP model and its codecs, shared by the agent, the extension and the collector.

Standard library only (the agent and the extension run inside Lambda, where importing ``google.protobuf``
would cost ~20 ms of cold start). Submodules are imported on demand; this module imports nothing.

The model is the OTLP/JSON mapping held in plain dicts and lists: an export request is
``{"resourceSpans": [...]}``, ``{"resourceMetrics": [...]}`` or ``{"resourceLogs": [...]}`` with the
camelCase field names of the OTLP JSON encoding. In the dict form:

- trace and span ids are lowercase hex strings (``traceId``, ``spanId``, ``parentSpanId``), as in OTLP/JSON;
- 64-bit integers (``startTimeUnixNano``, ``asInt``, ``count``...) are Python ``int``;
- enums (``kind``, ``status.code``, ``severityNumber``, ``aggregationTemporality``) are ``int``;
- ``bytesValue`` is a base64 string, as in OTLP/JSON.

Submodules:

- ``zerolag.otlp.model``: ids, attribute conversion, builders for spans, metrics and log records.
- ``zerolag.otlp.protobuf``: ``encode(signal, request) -> bytes`` and ``decode(signal, data) -> request``.
- ``zerolag.otlp.jsoncodec``: ``loads(signal, data) -> request`` and ``dumps(request) -> bytes``.
- ``zerolag.otlp.wire``: ``count_items(signal, data) -> int``, a fast structural check of a protobuf request
  that counts its spans, data points or log records without building it; ``split(signal, data, max_bytes)``
  cuts a request into valid requests under a size limit. Two protobuf requests of one
  signal concatenate into one valid request (``repeated`` fields merge), which is how batches are built.

Every decoder raises ``OtlpDecodeError`` (a ``ValueError``) on bad input, never anything else.
Decoders return the canonical form: proto3 defaults and empty lists are left out, except fields with
presence (oneof members, ``optional`` fields, sub-messages). See docs/otlp.md.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Final, Literal

    Signal = Literal["traces", "metrics", "logs"]
else:
    Signal = str  # the Literal above for type checkers; a plain alias at run time
SIGNALS: Final[tuple[Signal, ...]] = ("traces", "metrics", "logs")
PATHS: Final[dict[Signal, str]] = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}
TOP_LEVEL_KEY: Final[dict[Signal, str]] = {
    "traces": "resourceSpans",
    "metrics": "resourceMetrics",
    "logs": "resourceLogs",
}
CONTENT_TYPE_PROTOBUF: Final = "application/x-protobuf"
CONTENT_TYPE_JSON: Final = "application/json"


class OtlpDecodeError(ValueError):
    """A payload is not a valid OTLP export request of the expected signal."""
