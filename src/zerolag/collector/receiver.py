"""The OTLP/HTTP receiver's protocol, apart from the socket: body checks, decoding and OTLP-spec replies.

Replies follow the OTLP/HTTP specification: a success is an empty ``Export*ServiceResponse`` in the request's
encoding (an empty protobuf message, or ``{}``); a failure is a ``google.rpc.Status`` with a 4xx code.
"""

from __future__ import annotations

import json
import re
import zlib
from dataclasses import dataclass
from typing import Any, Final

from zerolag.otlp import CONTENT_TYPE_JSON, CONTENT_TYPE_PROTOBUF, OtlpDecodeError, Signal, rpc_status

# google.rpc.Code values used in Status replies.
RPC_INVALID_ARGUMENT: Final = 3
RPC_PERMISSION_DENIED: Final = 7
RPC_RESOURCE_EXHAUSTED: Final = 8
RPC_UNAUTHENTICATED: Final = 16
RPC_UNIMPLEMENTED: Final = 12
RPC_INTERNAL: Final = 13

_RPC_FOR_HTTP: Final = {
    400: RPC_INVALID_ARGUMENT,
    401: RPC_UNAUTHENTICATED,
    403: RPC_PERMISSION_DENIED,
    404: RPC_UNIMPLEMENTED,
    405: RPC_UNIMPLEMENTED,
    408: RPC_INVALID_ARGUMENT,
    413: RPC_RESOURCE_EXHAUSTED,
    415: RPC_INVALID_ARGUMENT,
    503: 14,  # UNAVAILABLE: retryable
}


class ReceiverError(Exception):
    """A request the receiver refuses, with the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes


def media_type(content_type: str | None) -> str:
    """``application/json; charset=utf-8`` -> ``application/json``."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def check_content_type(content_type: str | None) -> str:
    """The request's encoding, or 415."""
    media = media_type(content_type)
    if media not in (CONTENT_TYPE_PROTOBUF, CONTENT_TYPE_JSON):
        raise ReceiverError(415, f"unsupported content type {media or '(none)'!r}")
    return media


def inflate(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """The body without its ``Content-Encoding``: 413 past ``max_bytes`` inflated, 400 when corrupt."""
    coding = (encoding or "identity").strip().lower()
    if coding == "identity":
        return body
    if coding not in ("gzip", "deflate"):
        raise ReceiverError(415, f"unsupported content encoding {coding!r}")
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise ReceiverError(400, f"corrupt {coding} body: {exc}") from exc
    if len(data) > max_bytes:
        raise ReceiverError(413, f"body inflates past {max_bytes} bytes")
    if not inflater.eof:
        raise ReceiverError(400, f"truncated {coding} body")
    return data


_ESCAPED_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")


def decode(signal: Signal, media: str, data: bytes) -> dict[str, Any]:
    """The export request in the dict form, or 400.

    Protobuf goes through the official generated classes (``otlp_pb``). JSON may escape UTF-16 surrogates
    (``"\\ud83d\\ude00"``, as JavaScript's ``JSON.stringify`` writes any string); a lone one cannot be
    stored as text, so it becomes U+FFFD, like any other undecodable character.
    """
    request: dict[str, Any]
    try:
        if media == CONTENT_TYPE_JSON:
            from zerolag.otlp.jsoncodec import loads

            request = loads(signal, data)
            if _ESCAPED_SURROGATE.search(data):
                request = _without_lone_surrogates(request)
        else:
            from zerolag.collector.otlp_pb import decode as decode_protobuf

            request = decode_protobuf(signal, data)
    except OtlpDecodeError as exc:
        raise ReceiverError(400, f"malformed {signal} request: {exc}") from exc
    return request


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    return value


def success(media: str) -> Reply:
    """An empty export response (no partial success) in the request's encoding."""
    if media == CONTENT_TYPE_JSON:
        return Reply(200, CONTENT_TYPE_JSON, b"{}")
    return Reply(200, CONTENT_TYPE_PROTOBUF, b"")


def failure(status: int, message: str, media: str) -> Reply:
    """A ``google.rpc.Status`` reply, JSON when the client spoke JSON, protobuf otherwise."""
    code = _RPC_FOR_HTTP.get(status, RPC_INTERNAL)
    if media == CONTENT_TYPE_JSON:
        return Reply(status, CONTENT_TYPE_JSON, json.dumps({"code": code, "message": message}).encode())
    return Reply(status, CONTENT_TYPE_PROTOBUF, rpc_status.protobuf(code, message))
