"""Runtime API 2018-06-01 routes (contract section 1): invocation/next, response, error, init/error."""

from __future__ import annotations

import base64
import json

from zerolag import lambda_wire as wire
from zerolag.emulator.core import Core, Invocation, Outcome
from zerolag.emulator.http_base import MAX_STREAM_BYTES, ApiError, Body, JsonHandler, TooLarge

ACCEPTED = {"status": "OK"}
PREFIX = f"/{wire.RUNTIME_API_VERSION}/runtime/"
ERR_RESPONSE_TOO_LARGE_MSG = f"Exceeded maximum allowed payload size ({wire.MAX_RESPONSE_BYTES} bytes)."


def next_headers(inv: Invocation) -> dict[str, str]:
    """The /next reply headers, each only when non-empty."""
    headers = {
        "Content-Type": inv.content_type,
        wire.H_REQUEST_ID: inv.request_id,
        wire.H_DEADLINE_MS: str(inv.deadline_ms),
        wire.H_FUNCTION_ARN: inv.function_arn,
        wire.H_TRACE_ID: inv.trace_id or "",
        wire.H_CLIENT_CONTEXT: inv.client_context or "",
        wire.H_COGNITO_IDENTITY: inv.cognito_identity or "",
    }
    return {k: v for k, v in headers.items() if v}


def handle_get(h: JsonHandler, core: Core, path: str) -> None:
    if path != wire.RUNTIME_NEXT:
        raise ApiError(404, "NotFound", f"No route for GET {path}")
    inv = core.runtime_next()
    if inv is None:  # the sandbox was reset while the runtime waited
        h.close_connection = True
        raise ApiError(500, "Runtime.Unavailable", "The sandbox is shutting down")
    h.reply(200, inv.payload, next_headers(inv))


def handle_post(h: JsonHandler, core: Core, path: str) -> None:
    rest = path[len(PREFIX) :] if path.startswith(PREFIX) else ""
    if rest == "init/error":
        body = h.read_body(wire.MAX_RESPONSE_BYTES)
        core.runtime_init_error(_error_outcome(h, body))
        h.reply_json(202, ACCEPTED)
        return
    parts = rest.split("/")
    if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
        if parts[2] == "response":
            _post_response(h, core, parts[1])
        else:
            body = h.read_body(wire.MAX_RESPONSE_BYTES)
            core.runtime_outcome(parts[1], _error_outcome(h, body))
            h.reply_json(202, ACCEPTED)
        return
    h.drain()
    raise ApiError(404, "NotFound", f"No route for POST {path}")


def _post_response(h: JsonHandler, core: Core, request_id: str) -> None:
    mode = h.headers.get(wire.H_RESPONSE_MODE)
    if mode is not None and mode.lower() != wire.RESPONSE_MODE_STREAMING:
        h.drain()
        raise ApiError(400, wire.ERR_INVALID_RESPONSE_MODE, f"Invalid function response mode: {mode}")
    limit = MAX_STREAM_BYTES if mode else wire.MAX_RESPONSE_BYTES
    try:
        body = h.read_body(limit)
    except TooLarge:
        too_large = Outcome(
            "error",
            json.dumps(wire.error_body(ERR_RESPONSE_SIZE_TOO_LARGE, RESPONSE_TOO_LARGE_CLIENT_MSG)).encode(),
            error_type=ERR_RESPONSE_SIZE_TOO_LARGE,
            header_type=ERR_RESPONSE_SIZE_TOO_LARGE,
        )
        core.runtime_outcome(request_id, too_large)
        raise ApiError(413, wire.ERR_REQUEST_TOO_LARGE, ERR_RESPONSE_TOO_LARGE_MSG) from None
    core.runtime_outcome(request_id, _response_outcome(h, body))
    h.reply_json(202, ACCEPTED)


ERR_RESPONSE_SIZE_TOO_LARGE = "Function.ResponseSizeTooLarge"
RESPONSE_TOO_LARGE_CLIENT_MSG = (
    f"Response payload size exceeded maximum allowed payload size ({wire.MAX_RESPONSE_BYTES} bytes)."
)


def _response_outcome(h: JsonHandler, body: Body) -> Outcome:
    """A response; a streamed response whose trailers carry an error becomes an error outcome."""
    ctype = h.headers.get("Content-Type") or "application/json"
    error_type = body.trailers.get(wire.H_FUNCTION_ERROR_TYPE.lower())
    if error_type:
        raw = body.trailers.get(wire.H_FUNCTION_ERROR_BODY.lower(), "")
        try:
            error_body = base64.b64decode(raw, validate=False)
        except ValueError:
            error_body = raw.encode()
        return Outcome(
            "error",
            error_body,
            "application/json",
            error_type,
            error_type,
            body.first_byte_at,
            body.last_byte_at,
        )
    return Outcome("response", body.data, ctype, None, None, body.first_byte_at, body.last_byte_at)


def _error_outcome(h: JsonHandler, body: Body) -> Outcome:
    """An /error or /init/error post: the header's type, else the body's errorType."""
    header = h.headers.get(wire.H_FUNCTION_ERROR_TYPE)
    data = body.data
    if h.headers.get("Content-Type", "") == wire.CONTENT_TYPE_ERROR_CAUSE:
        data = b""  # the body is the X-Ray cause, not the error
    error_type = header or _body_error_type(data)
    return Outcome(
        "error", data, "application/json", error_type, header, body.first_byte_at, body.last_byte_at
    )


def _body_error_type(data: bytes) -> str | None:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    value = doc.get("errorType") if isinstance(doc, dict) else None
    return value if isinstance(value, str) else None
