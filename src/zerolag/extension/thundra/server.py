"""The Thundra-compatible receiver: answers at once, translates, hands OTLP to the pipeline.

The agent posts synchronously inside the invocation and never checks the status, so every request is answered
immediately, bad bodies included (400, counted, logged without their content: they carry the API key).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from zerolag.extension.thundra.translate import ThundraError, Translated, translate
from zerolag.otlp import Signal

if TYPE_CHECKING:
    from zerolag.extension.context import ExtensionContext
    from zerolag.extension.http import HttpRequest, HttpResponse

_log = logging.getLogger(__name__)
PATHS: Final = frozenset({"/v1/monitoring-data", "/v1/composite-monitoring-data"})
# A body is parsed whole (json.loads, then OTLP dicts): bounded to 1 MiB (an agent's batch is kilobytes), and
# its decoding reserved in the shared intake budget at ~32 times its size (docs/extension.md).
MAX_BODY: Final = 1024 * 1024
DECODE_FACTOR: Final = 32
Submit = Callable[[Signal, bytes, int, "str | None"], None]
Count = Callable[[str, int], None]
NoteAgent = Callable[[str, str, bytes, bool], None]


class ThundraReceiver:
    """Handles one POST of the Thundra agent (the transport is the extension's HTTP server)."""

    def __init__(
        self,
        *,
        submit: Submit,
        count: Count,
        resource: Mapping[str, object],
        note_agent: NoteAgent | None = None,
        on_invocation: Callable[[str], None] | None = None,
    ) -> None:
        self._submit = submit
        self._count = count
        self._resource = dict(resource)
        self._note_agent = note_agent
        self._on_invocation = on_invocation

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) for one request; never raises."""
        if path.split("?", 1)[0] not in PATHS:
            return 404, b'{"message":"not found"}'
        if method != "POST":
            return 405, b'{"message":"method not allowed"}'
        try:
            out = translate(body, self._resource)
        except ThundraError as exc:
            self._count("thundra_bad_bodies", 1)
            _log.warning("Thundra body rejected on %s: %s (%d bytes)", path, exc, len(body))
            return 400, b'{"message":"bad request"}'
        except Exception:  # never let a payload crash the receiver
            self._count("thundra_bad_bodies", 1)
            _log.exception("Thundra body could not be translated on %s", path)
            return 400, b'{"message":"bad request"}'
        if out.invalid:
            self._count("thundra_invalid_records", out.invalid)
            _log.warning("Thundra records dropped on %s: %d could not become valid OTLP", path, out.invalid)
        try:
            self._forward(out)
        except Exception:  # every record was checked on its own: this would be a bug, never a 500
            self._count("thundra_bad_bodies", 1)
            _log.exception("Thundra body could not be forwarded on %s", path)
            return 400, b'{"message":"bad request"}'
        return 200, b'{"message":"ok"}'

    def _forward(self, out: Translated) -> None:
        from zerolag.otlp import protobuf

        self._count("thundra_requests", 1)
        if out.skipped:
            self._count("thundra_skipped_records", out.skipped)
        ids = out.request_ids or out.partial_request_ids
        rid = ids[0] if ids else None
        requests: dict[Signal, dict[str, Any] | None] = {
            "traces": out.traces,
            "metrics": out.metrics,
            "logs": out.logs,
        }
        encoded = {
            signal: protobuf.encode(signal, req) for signal, req in requests.items() if req is not None
        }
        for signal, data in encoded.items():
            self._submit(signal, data, out.items.get(signal, 0), rid)
        finals = [(r, True) for r in out.request_ids] + [(r, False) for r in out.partial_request_ids]
        for request_id, final in finals:
            if self._note_agent is not None:  # so the telemetry side neither doubles the span nor the logs
                for signal, data in encoded.items():
                    self._note_agent(request_id, signal, data, final)
            if final and self._on_invocation is not None:
                self._on_invocation(request_id)  # the agent handed over this invocation


def start(ctx: ExtensionContext) -> None:
    """Serve the Thundra paths on the listener bound before registration (``ZEROLAG_THUNDRA_PORT``)."""
    from zerolag.extension.http import HttpResponse
    from zerolag.extension.server import bind_loopback
    from zerolag.extension.telemetry import note_agent_data
    from zerolag.extension.telemetry.service import resource_from_env

    pipeline = ctx.pipeline

    def on_invocation(request_id: str) -> None:
        # Thundra posts synchronously before the response: its Invocation record is its "final" batch.
        pipeline.expect_runtime_done()
        pipeline.runtime_done(request_id)

    receiver = ThundraReceiver(
        submit=lambda s, d, n, r: pipeline.submit(s, d, n, request_id=r),
        count=pipeline.counters.add,
        resource=resource_from_env(ctx.env),
        note_agent=note_agent_data,
        on_invocation=on_invocation,
    )

    def handler(req: HttpRequest) -> HttpResponse:
        status, body = receiver.handle(req.method, req.path, req.body)
        return HttpResponse(status, body)

    def cost(headers: dict[str, str], body: int) -> int:
        return DECODE_FACTOR * body

    sock = ctx.listener("thundra")
    if sock is None:
        sock = bind_loopback(ctx.config.thundra_port)
    port = ctx.serve_http(handler, sock=sock, name="thundra", max_body=MAX_BODY, decode_cost=cost)
    _log.info("Thundra-compatible receiver on 127.0.0.1:%d", port)
