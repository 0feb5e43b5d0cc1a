"""The RIE-compatible invoke endpoint (contract section 5):
``POST /2015-03-31/functions/function/invocations`` drives a :class:`~zerolag.emulator.Sandbox`, so tools
written for the AWS Runtime Interface Emulator work."""

from __future__ import annotations

from zerolag import lambda_wire as wire
from zerolag.emulator.http_base import (
    MAX_STREAM_BYTES,
    ApiError,
    JsonHandler,
    QuietServer,
    TooLarge,
    serve_in_thread,
)
from zerolag.emulator.sandbox import Sandbox

MAX_PAYLOAD = 6 * 1024 * 1024  # synchronous invoke payload limit


class InvokeServer(QuietServer):
    sandbox: Sandbox


class InvokeHandler(JsonHandler):
    server: InvokeServer

    def do_POST(self) -> None:
        self.dispatch(self._invoke)

    def do_GET(self) -> None:
        self.dispatch(self._not_found)

    def _not_found(self) -> None:
        raise ApiError(404, "ResourceNotFoundException", f"No route for {self.command} {self.path}")

    def _invoke(self) -> None:
        if self.path.split("?")[0] != wire.RIE_INVOKE_PATH:
            self.drain(MAX_STREAM_BYTES)
            self._not_found()
        try:
            payload = self.read_body(MAX_PAYLOAD).data
        except TooLarge:
            raise ApiError(
                413, "RequestEntityTooLargeException", "Request must be smaller than 6291456 bytes"
            ) from None
        result = self.server.sandbox.invoke(payload or b"{}")
        headers = {"Content-Type": result.content_type, "X-Amz-Executed-Version": "$LATEST"}
        if result.status != "success":
            headers["X-Amz-Function-Error"] = "Unhandled"
        self.reply(200, result.body, headers)


def start_invoke_server(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> InvokeServer:
    """Serve invocations for ``sandbox`` on ``host:port`` in a background thread (one at a time)."""
    server = InvokeServer((host, port), InvokeHandler)
    server.sandbox = sandbox
    serve_in_thread(server)
    return server
