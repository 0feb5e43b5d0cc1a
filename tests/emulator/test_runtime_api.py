"""Runtime API 2018-06-01 over real HTTP on loopback (contract section 1, "Runtime API 2018-06-01")."""

from __future__ import annotations

import base64
import json
import socket
from collections.abc import Iterator

import pytest
from api_harness import WAIT_S, Harness

from zerolag import lambda_wire as wire


@pytest.fixture
def h() -> Iterator[Harness]:
    harness = Harness()
    yield harness
    harness.close()


def _delivered(h: Harness) -> dict[str, str]:
    """Start an invocation and return the runtime's /next reply headers."""
    fut = h.runtime_next()
    h.wait(lambda: h.core.runtime_waiting)
    h.invoke()
    reply = fut.result(WAIT_S)
    assert reply.status == 200
    return reply.headers


def test_next_delivers_event_with_headers(h: Harness) -> None:
    """/next returns the raw event and the request id, deadline, ARN and trace headers."""
    fut = h.runtime_next()
    h.wait(lambda: h.core.runtime_waiting)
    h.invoke(payload=b'{"k": 1}')
    reply = fut.result(WAIT_S)
    assert reply.status == 200
    assert reply.body == b'{"k": 1}'
    assert reply.header(wire.H_REQUEST_ID) == "req-1"
    assert reply.header(wire.H_DEADLINE_MS).isdigit()
    assert reply.header(wire.H_FUNCTION_ARN) == "arn:aws:lambda:us-east-1:1:function:fn"
    assert reply.header(wire.H_TRACE_ID) == "Root=1-a"
    assert reply.header("Content-Type") == "application/json"


def test_next_omits_empty_headers(h: Harness) -> None:
    """Headers are set only when non-empty: no trace, client context or cognito identity headers."""
    fut = h.runtime_next()
    h.wait(lambda: h.core.runtime_waiting)
    h.invoke(trace=None)
    reply = fut.result(WAIT_S)
    for name in (wire.H_TRACE_ID, wire.H_CLIENT_CONTEXT, wire.H_COGNITO_IDENTITY):
        assert reply.header(name) is None


def test_first_next_closes_registration(h: Harness) -> None:
    """Registration closes when the runtime first calls /next: Extension.RegistrationClosed."""
    h.runtime_next()
    h.wait(lambda: h.core.runtime_waiting)
    reply = h.register("late", ["INVOKE"])
    assert reply.status == 403
    assert reply.json()["errorType"] == wire.ERR_EXT_REGISTRATION_CLOSED


def test_response_accepted(h: Harness) -> None:
    """POST /response → 202 {"status":"OK"} and the outcome is recorded."""
    _delivered(h)
    reply = h.request("POST", wire.RUNTIME_RESPONSE.format(request_id="req-1"), b'"hi"')
    assert (reply.status, reply.json()) == (202, {"status": "OK"})
    assert h.core.invocation is not None
    assert h.core.invocation.outcome is not None
    assert h.core.invocation.outcome.body == b'"hi"'


def test_response_unknown_request_id(h: Harness) -> None:
    """A request id that is not the current one → 400 InvalidRequestID."""
    _delivered(h)
    reply = h.request("POST", wire.RUNTIME_RESPONSE.format(request_id="other"), b"{}")
    assert reply.status == 400
    assert reply.json() == {"errorMessage": "Invalid request ID", "errorType": wire.ERR_INVALID_REQUEST_ID}


def test_second_response_is_invalid_state(h: Harness) -> None:
    """A second reply for the same invocation → 403 InvalidStateTransition."""
    _delivered(h)
    path = wire.RUNTIME_RESPONSE.format(request_id="req-1")
    assert h.request("POST", path, b"1").status == 202
    reply = h.request("POST", path, b"2")
    assert reply.status == 403
    assert reply.json()["errorType"] == wire.ERR_INVALID_STATE_TRANSITION


def test_error_after_response_is_invalid_state(h: Harness) -> None:
    """/error after /response → 403 InvalidStateTransition."""
    _delivered(h)
    assert h.request("POST", wire.RUNTIME_RESPONSE.format(request_id="req-1"), b"1").status == 202
    reply = h.request("POST", wire.RUNTIME_ERROR.format(request_id="req-1"), b"{}")
    assert reply.status == 403
    assert reply.json()["errorType"] == wire.ERR_INVALID_STATE_TRANSITION


def test_next_while_invocation_unanswered_is_invalid_state(h: Harness) -> None:
    """/next before answering the current invocation → 403 InvalidStateTransition."""
    _delivered(h)
    reply = h.request("GET", wire.RUNTIME_NEXT)
    assert reply.status == 403
    assert reply.json()["errorType"] == wire.ERR_INVALID_STATE_TRANSITION


def test_response_over_6mib_is_413(h: Harness) -> None:
    """A body over 6 MiB + 100 B → 413 RequestEntityTooLarge with the contract's message."""
    _delivered(h)
    big = b"x" * (wire.MAX_RESPONSE_BYTES + 1)
    reply = h.request("POST", wire.RUNTIME_RESPONSE.format(request_id="req-1"), big)
    assert reply.status == 413
    assert reply.json() == {
        "errorMessage": "Exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": wire.ERR_REQUEST_TOO_LARGE,
    }
    assert h.core.invocation is not None
    assert h.core.invocation.outcome is not None
    assert h.core.invocation.outcome.error_type == "Function.ResponseSizeTooLarge"


def test_response_of_exactly_the_limit_is_accepted(h: Harness) -> None:
    """6 MiB + 100 B exactly is still accepted."""
    _delivered(h)
    body = b"x" * wire.MAX_RESPONSE_BYTES
    assert h.request("POST", wire.RUNTIME_RESPONSE.format(request_id="req-1"), body).status == 202


def test_error_with_header_and_body(h: Harness) -> None:
    """/error → 202; the type comes from Lambda-Runtime-Function-Error-Type, the body is kept."""
    _delivered(h)
    body = json.dumps({"errorMessage": "m", "errorType": "X", "stackTrace": []}).encode()
    reply = h.request(
        "POST",
        wire.RUNTIME_ERROR.format(request_id="req-1"),
        body,
        {wire.H_FUNCTION_ERROR_TYPE: "Function.Bad", wire.H_XRAY_ERROR_CAUSE: "{}"},
    )
    assert (reply.status, reply.json()) == (202, {"status": "OK"})
    outcome = h.core.invocation.outcome if h.core.invocation else None
    assert outcome is not None
    assert (outcome.kind, outcome.error_type, outcome.header_type, outcome.body) == (
        "error",
        "Function.Bad",
        "Function.Bad",
        body,
    )


def test_error_without_header_uses_body_type(h: Harness) -> None:
    """awslambdaric posts no type header: the body's errorType is the client-visible type."""
    _delivered(h)
    body = b'{"errorMessage": "boom", "errorType": "ValueError"}'
    assert h.request("POST", wire.RUNTIME_ERROR.format(request_id="req-1"), body).status == 202
    outcome = h.core.invocation.outcome if h.core.invocation else None
    assert outcome is not None
    assert outcome.error_type == "ValueError"
    assert outcome.header_type is None


def test_error_with_malformed_json_body_is_accepted(h: Harness) -> None:
    """A malformed error body is not a crash: 202, the body is kept as it is."""
    _delivered(h)
    reply = h.request("POST", wire.RUNTIME_ERROR.format(request_id="req-1"), b"{not json")
    assert reply.status == 202


def test_error_cause_content_type(h: Harness) -> None:
    """With Content-Type application/vnd.aws.lambda.error.cause+json the body is the X-Ray cause."""
    _delivered(h)
    reply = h.request(
        "POST",
        wire.RUNTIME_ERROR.format(request_id="req-1"),
        b'{"working_directory": "/var/task"}',
        {"Content-Type": wire.CONTENT_TYPE_ERROR_CAUSE, wire.H_FUNCTION_ERROR_TYPE: "Runtime.Oops"},
    )
    assert reply.status == 202


def test_init_error_accepted_then_invalid_state(h: Harness) -> None:
    """/init/error during init → 202; a second one → 403 InvalidStateTransition."""
    headers = {wire.H_FUNCTION_ERROR_TYPE: wire.ERR_RUNTIME_IMPORT_MODULE}
    reply = h.request("POST", wire.RUNTIME_INIT_ERROR, b'{"errorMessage":"x"}', headers)
    assert (reply.status, reply.json()) == (202, {"status": "OK"})
    assert h.core.init_error is not None
    assert h.core.init_error.error_type == wire.ERR_RUNTIME_IMPORT_MODULE
    again = h.request("POST", wire.RUNTIME_INIT_ERROR, b"{}", headers)
    assert again.status == 403
    assert again.json()["errorType"] == wire.ERR_INVALID_STATE_TRANSITION


def test_init_error_after_next_is_invalid_state(h: Harness) -> None:
    """/init/error once the runtime called /next → 403 InvalidStateTransition."""
    h.runtime_next()
    h.wait(lambda: h.core.runtime_waiting)
    reply = h.request("POST", wire.RUNTIME_INIT_ERROR, b"{}")
    assert reply.status == 403


def test_invalid_response_mode(h: Harness) -> None:
    """A response mode other than streaming → 400 InvalidFunctionResponseMode."""
    _delivered(h)
    reply = h.request(
        "POST", wire.RUNTIME_RESPONSE.format(request_id="req-1"), b"x", {wire.H_RESPONSE_MODE: "buffered-ish"}
    )
    assert reply.status == 400
    assert reply.json()["errorType"] == wire.ERR_INVALID_RESPONSE_MODE


def _raw(h: Harness, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", h.port), timeout=WAIT_S) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _streamed(path: str, chunks: list[bytes], trailers: dict[str, str]) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{wire.H_RESPONSE_MODE}: streaming\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n"
    )
    if trailers:
        head += "Trailer: " + ", ".join(trailers) + "\r\n"
    body = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in chunks) + b"0\r\n"
    body += "".join(f"{k}: {v}\r\n" for k, v in trailers.items()).encode() + b"\r\n"
    return head.encode() + b"\r\n" + body


def test_streaming_response(h: Harness) -> None:
    """A chunked streaming response is accepted and reassembled."""
    _delivered(h)
    path = wire.RUNTIME_RESPONSE.format(request_id="req-1")
    raw = _raw(h, _streamed(path, [b"hello ", b"world"], {}))
    assert raw.startswith(b"HTTP/1.1 202")
    outcome = h.core.invocation.outcome if h.core.invocation else None
    assert outcome is not None
    assert (outcome.kind, outcome.body) == ("response", b"hello world")


def test_streaming_error_in_trailers(h: Harness) -> None:
    """A mid-stream error in the trailers (type + base64 body) makes the invocation an error."""
    _delivered(h)
    path = wire.RUNTIME_RESPONSE.format(request_id="req-1")
    err = base64.b64encode(b'{"errorMessage":"mid"}').decode()
    trailers = {wire.H_FUNCTION_ERROR_TYPE: "Function.MidStream", wire.H_FUNCTION_ERROR_BODY: err}
    raw = _raw(h, _streamed(path, [b"partial"], trailers))
    assert raw.startswith(b"HTTP/1.1 202")
    outcome = h.core.invocation.outcome if h.core.invocation else None
    assert outcome is not None
    assert (outcome.kind, outcome.error_type, outcome.body) == (
        "error",
        "Function.MidStream",
        b'{"errorMessage":"mid"}',
    )


def test_truncated_body(h: Harness) -> None:
    """A body shorter than its Content-Length → 400 TruncatedHTTPRequest (when the peer can still read)."""
    _delivered(h)
    path = wire.RUNTIME_RESPONSE.format(request_id="req-1")
    raw = _raw(h, f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort".encode())
    assert raw.startswith(b"HTTP/1.1 400")
    assert wire.ERR_TRUNCATED_REQUEST.encode() in raw
    assert h.core.invocation is not None
    assert h.core.invocation.outcome is None


def test_unknown_route_is_json_404(h: Harness) -> None:
    """Unknown paths get a JSON error, not a crash."""
    reply = h.request("GET", f"/{wire.RUNTIME_API_VERSION}/runtime/nope")
    assert reply.status == 404
    assert "errorType" in reply.json()


def test_garbage_request_does_not_kill_server(h: Harness) -> None:
    """A malformed request line gets a JSON 400; the server keeps serving."""
    raw = _raw(h, b"GET /a b HTTP/1.1\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400")
    assert wire.ERR_INVALID_REQUEST_FORMAT.encode() in raw
    assert h.request("GET", "/nope").status == 404
