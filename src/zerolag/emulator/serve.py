"""The invoke endpoint as a Lambda client sees it (docs/emulator.md, "The invoke endpoint").

``POST /2015-03-31/functions/<name>/invocations`` serves the Lambda Invoke API, so boto3's
``lambda.invoke`` (and the RIE's curl recipe, with the name ``function``) work against it:

- ``X-Amz-Invocation-Type``: ``RequestResponse`` (200 with the function's response, sent when the runtime
  posts it; ``X-Amz-Function-Error: Unhandled`` for function errors), ``Event`` (202, empty body: queued
  and run in order in the background) or ``DryRun`` (204).
- ``X-Amz-Log-Type: Tail``: ``X-Amz-Log-Result`` carries base64 of the last 4 KB of the invocation's log;
  the reply then waits for the end of the invocation, as the log ends with its REPORT line.
- ``X-Amz-Client-Context``: base64 JSON, handed to the function.
- Errors carry ``x-amzn-ErrorType`` and a ``{"Type","message"}`` body, so botocore raises the named
  exception: ``RequestTooLargeException`` (413), ``ResourceNotFoundException`` (404),
  ``TooManyRequestsException`` (429), ``InvalidRequestContentException`` and
  ``InvalidParameterValueException`` (400), ``ServiceException`` (500).
"""

from __future__ import annotations

import base64
import binascii
import collections
import json
import re
import sys
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from zerolag.emulator.http_base import ApiError, JsonHandler, QuietServer, TooLarge, serve_in_thread
from zerolag.emulator.pool import Pool, Throttled
from zerolag.emulator.result import InvokeResponse
from zerolag.emulator.sandbox import Sandbox

MAX_PAYLOAD = 6 * 1024 * 1024  # synchronous invoke payload limit (API_Invoke)
MAX_ASYNC_PAYLOAD = 1024 * 1024  # asynchronous (Event) payload limit (API_Invoke)
MAX_CLIENT_CONTEXT = 3583  # bytes of base64, Lambda's limit for X-Amz-Client-Context
QUEUE_MAX_EVENTS = 10_000  # the local async queue's bounds (Lambda's own queue is not bounded this way)
QUEUE_MAX_BYTES = 64 * 1024 * 1024
RIE_NAME = "function"  # the RIE serves its one function under this name
_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations/?$")
_ARN = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?(?P<name>[a-zA-Z0-9_.-]+)"
    r"(?::(?P<qualifier>[$a-zA-Z0-9_.-]+))?$"
)


class InvokeError(ApiError):
    """A Lambda API error: botocore reads the code from ``x-amzn-ErrorType``."""

    def __init__(self, status: int, error_type: str, message: str, reason: str | None = None) -> None:
        super().__init__(status, error_type, message)
        self.reason = reason


def _throttled() -> InvokeError:
    return InvokeError(
        429, "TooManyRequestsException", "Rate Exceeded.", "ReservedFunctionConcurrentInvocationLimitExceeded"
    )


@dataclass(frozen=True)
class AsyncEvent:
    payload: bytes
    request_id: str


class EventQueue:
    """InvocationType=Event: accepted events, run one after another in arrival order by one thread."""

    def __init__(self, run: Callable[[AsyncEvent], None]) -> None:
        self._run = run
        self._cond = threading.Condition()
        self._events: collections.deque[AsyncEvent] = collections.deque()
        self._bytes = 0
        self._busy = False
        self._closed = False
        self.completed = 0
        self.lost = 0  # accepted events that could not run (each also reported on stderr)
        self._thread = threading.Thread(target=self._loop, name="invoke-event-queue", daemon=True)
        self._thread.start()

    def put(self, event: AsyncEvent) -> bool:
        """Queue an event; False when the queue is full (the caller is throttled)."""
        with self._cond:
            if len(self._events) >= QUEUE_MAX_EVENTS or self._bytes + len(event.payload) > QUEUE_MAX_BYTES:
                return False
            self._events.append(event)
            self._bytes += len(event.payload)
            self._cond.notify_all()
            return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every queued event has run (tests, shutdown)."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._events and not self._busy, timeout)

    def close(self) -> None:
        """Stop after the event in progress; events still queued are counted lost (and said on stderr)."""
        with self._cond:
            self._closed = True
            left = len(self._events)
            self._events.clear()
            self.lost += left
            self._cond.notify_all()
        if left:
            print(f"{left} queued async event(s) lost: the endpoint stopped", file=sys.stderr, flush=True)
        self._thread.join(5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._events or self._closed)
                if self._closed:
                    return
                event = self._events.popleft()
                self._bytes -= len(event.payload)
                self._busy = True
            try:
                self._run(event)
            finally:
                with self._cond:
                    self._busy = False
                    self.completed += 1
                    self._cond.notify_all()


class InvokeServer(QuietServer):
    pool: Pool
    function_name: str
    events: EventQueue


class InvokeHandler(JsonHandler):
    server: InvokeServer

    def do_POST(self) -> None:
        self.dispatch(self._invoke)

    def do_GET(self) -> None:
        self.dispatch(self._not_found)

    def do_PUT(self) -> None:
        self.dispatch(self._not_found)

    def do_DELETE(self) -> None:
        self.dispatch(self._not_found)

    def reply_error(self, err: ApiError) -> None:
        """Lambda's error shape: ``x-amzn-ErrorType`` plus ``{"Type","message"}`` (``Reason`` for 429)."""
        kind = "Service" if err.status >= 500 else "User"
        body: dict[str, str] = {"Type": kind, "message": err.message}
        reason = getattr(err, "reason", None)
        if reason:
            body["Reason"] = reason
        error_type = err.error_type
        if error_type == "RequestEntityTooLarge":  # the shared base's TooLarge reply
            error_type = "RequestTooLargeException"
        headers = {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())}
        self.reply(err.status, json.dumps(body).encode(), headers)

    def _not_found(self) -> None:
        if self.command != "GET":
            self.drain()
        raise InvokeError(404, "ResourceNotFoundException", f"No route for {self.command} {self.path}")

    def _invoke(self) -> None:
        url = urlsplit(self.path)
        match = _PATH.match(url.path)
        if match is None:
            self._not_found()
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type not in ("RequestResponse", "Event", "DryRun"):
            self.drain()
            raise InvokeError(
                400, "InvalidParameterValueException", f"Unsupported InvocationType: {invocation_type}"
            )
        limit = MAX_ASYNC_PAYLOAD if invocation_type == "Event" else MAX_PAYLOAD
        try:
            payload = self.read_body(limit).data
        except TooLarge:
            raise InvokeError(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            ) from None
        self._check_function(unquote(match["name"]), parse_qs(url.query).get("Qualifier", [None])[0])
        log_type = self.headers.get("X-Amz-Log-Type") or "None"
        if log_type not in ("None", "Tail"):
            raise InvokeError(400, "InvalidParameterValueException", f"Unsupported LogType: {log_type}")
        payload = _json_payload(payload)
        context = _client_context(self.headers.get("X-Amz-Client-Context"))
        request_id = str(uuid.uuid4())
        if invocation_type == "DryRun":
            self.reply(204, b"", {"x-amzn-RequestId": request_id})
            return
        if invocation_type == "Event":
            if not self.server.events.put(AsyncEvent(payload, request_id)):
                raise _throttled()
            self.reply(202, b"", {"x-amzn-RequestId": request_id})
            return
        self._sync(payload, context, tail=log_type == "Tail")

    def _check_function(self, name: str, qualifier: str | None) -> None:
        arn = _ARN.match(name)
        own = self.server.function_name
        known = arn is not None and arn["name"] in (own, RIE_NAME)
        qual = qualifier or (arn["qualifier"] if arn else None)
        if not known or qual not in (None, "$LATEST"):
            shown = f"{name}:{qual}" if qualifier else name
            raise InvokeError(404, "ResourceNotFoundException", f"Function not found: {shown}")

    def _sync(self, payload: bytes, context: Mapping[str, Any] | None, *, tail: bool) -> None:
        try:
            pending = self.server.pool.submit(payload, client_context=context)
        except Throttled:
            raise _throttled() from None
        except Exception as exc:  # the sandbox could not start or run: the service's fault, not the caller's
            raise InvokeError(500, "ServiceException", f"The sandbox failed: {exc}") from None
        response = pending.response
        headers = _response_headers(response)
        if tail:
            try:
                result = pending.result()
            except Exception as exc:
                raise InvokeError(500, "ServiceException", f"The sandbox failed: {exc}") from None
            headers["X-Amz-Log-Result"] = base64.b64encode(result.log_tail).decode("ascii")
        self.reply(200, response.body, headers)


def _response_headers(response: InvokeResponse) -> dict[str, str]:
    headers = {
        "Content-Type": response.content_type,
        "X-Amz-Executed-Version": "$LATEST",
        "x-amzn-RequestId": response.request_id,
    }
    if response.status != "success":
        headers["X-Amz-Function-Error"] = "Unhandled"
    return headers


def _json_payload(payload: bytes) -> bytes:
    """Lambda accepts only JSON payloads; an empty one is ``{}``."""
    if not payload.strip():
        return b"{}"
    try:
        json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvokeError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from None
    return payload


def _client_context(header: str | None) -> Mapping[str, Any] | None:
    if not header:
        return None
    bad = InvokeError(
        400, "InvalidParameterValueException", "Client context must be a valid Base64-encoded JSON object."
    )
    if len(header) > MAX_CLIENT_CONTEXT:
        raise InvokeError(
            400,
            "InvalidParameterValueException",
            f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes.",
        )
    try:
        doc = json.loads(base64.b64decode(header, validate=True))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if not isinstance(doc, dict):
        raise bad
    return doc


def start_invoke_server(
    target: Sandbox | Pool, host: str = "127.0.0.1", port: int = 0, *, function_name: str | None = None
) -> InvokeServer:
    """Serve invocations on ``host:port`` in a background thread.

    ``target`` is a started :class:`Sandbox` (its invocations run one at a time) or a :class:`Pool`.
    """
    if isinstance(target, Sandbox):
        started = target

        def reuse() -> Sandbox:
            return started

        pool = Pool(reuse, None)
        pool.adopt(started)
        name = function_name or target.cfg.function_name
    else:
        pool = target
        name = function_name or RIE_NAME
    server = InvokeServer((host, port), InvokeHandler)
    server.pool = pool
    server.function_name = name

    def run_event(event: AsyncEvent) -> None:
        try:
            pool.submit_waiting(event.payload, request_id=event.request_id).result()
        except Exception as exc:  # the function is shutting down, or its sandbox failed: counted and said
            server.events.lost += 1
            print(f"async event {event.request_id} lost: {exc}", file=sys.stderr, flush=True)

    server.events = EventQueue(run_event)
    serve_in_thread(server)
    return server


def stop_invoke_server(server: InvokeServer) -> None:
    """Stop serving (the pool's sandboxes are the caller's to shut down)."""
    server.shutdown()
    server.server_close()
    server.events.close()
