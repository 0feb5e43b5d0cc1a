"""The Telemetry API plugin: listener on 127.0.0.1, subscription, and the hand-off to the pipeline.

Thin I/O around :class:`~zerolag.extension.telemetry.translator.TelemetryTranslator`. Started by the
extension through ``zerolag.extension.telemetry.start(ctx)`` (the seam in docs/INTERFACES.md).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from zerolag.extension.telemetry import otlp_build as ob
from zerolag.extension.telemetry.subscription import SubscribeResult, interpret, subscribe
from zerolag.extension.telemetry.translator import TelemetryTranslator
from zerolag.otlp import Signal

if TYPE_CHECKING:
    from zerolag.extension.context import ExtensionContext
    from zerolag.extension.http import HttpRequest, HttpResponse

_log = logging.getLogger(__name__)
ENV_SWITCH: Final = "ZEROLAG_TELEMETRY"
SHUTDOWN_WAIT_S: Final = 0.5
AGENTLESS_LIMIT: Final = 3  # invocations without any agent data before the extension stops waiting
AGENT_GRACE_S: Final = 0.2  # how long past runtimeDone an agent that has not handed over is waited for
# A delivery is at most 2 x maxBytes plus metadata (docs/telemetry.md); it is parsed whole, so its decoding is
# reserved in the shared intake budget at ~32 times its size.
MAX_DELIVERY_BYTES: Final = 4 * 1024 * 1024


def _decode_cost(headers: dict[str, str], body: int) -> int:
    return 32 * body


_active: TelemetryService | None = None
_active_lock = threading.Lock()


def resource_from_env(env: Mapping[str, str]) -> dict[str, object]:
    """The OTLP resource of the function (FaaS and cloud semantic conventions)."""
    name = env.get("AWS_LAMBDA_FUNCTION_NAME", "")
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    attrs: dict[str, object] = {
        "service.name": env.get("OTEL_SERVICE_NAME") or name or "unknown_service",
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
        "cloud.region": env.get("AWS_REGION") or None,
        "faas.name": name or None,
        "faas.version": env.get("AWS_LAMBDA_FUNCTION_VERSION") or None,
        "faas.max_memory": int(memory) * 1024 * 1024 if memory.isdigit() else None,
        # the OTel host.arch value of the sandbox (Lambda prices arm64 and x86_64 differently)
        "host.arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine),
        "telemetry.sdk.name": "zerolag",
        "telemetry.sdk.language": "python",
    }
    return {k: v for k, v in attrs.items() if v is not None}


def enabled(env: Mapping[str, str]) -> bool:
    """``ZEROLAG_TELEMETRY`` (default true) switches the Telemetry API subscription."""
    return env.get(ENV_SWITCH, "true").strip().lower() not in ("false", "0", "no", "off")


class TelemetryService:
    """Owns the listener and the translator; forwards OTLP to the pipeline."""

    def __init__(self, ctx: ExtensionContext) -> None:
        env = ctx.env
        memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self._ctx = ctx
        self._reason = "spindown"
        self._reported: Counter[str] = Counter()
        self.translator = TelemetryTranslator(
            function_name=env.get("AWS_LAMBDA_FUNCTION_NAME", "") or "function",
            resource=resource_from_env(env),
            emit=self._emit,
            memory_mb=float(memory) if memory.isdigit() else None,
            on_runtime_done=self._runtime_done,
        )
        self.subscribed_schema: str | None = None
        self._agent_seen = False
        self._expecting = False

    def start(self) -> bool:
        """Listen, subscribe, hook the lifecycle. False (and a clear log line) when the platform refuses."""
        from zerolag.extension.http import HttpResponse  # lazy: the seam's HTTP types

        self._response = HttpResponse
        early, sock = self._ctx.telemetry_subscription, self._ctx.listener("telemetry")
        if early is not None and sock is not None:
            # subscribed right after registering, on this listener: what the platform sent since waits
            # in its backlog
            port = self._ctx.serve_http(
                self._handle,
                sock=sock,
                name="telemetry",
                max_body=MAX_DELIVERY_BYTES,
                decode_cost=_decode_cost,
            )
            uri = f"http://sandbox.localdomain:{port}"
            status, schema, text = early
            result = interpret(schema, status, text) if status else SubscribeResult(None, 0, text)
        else:
            port = self._ctx.serve_http(
                self._handle, port=0, name="telemetry", max_body=MAX_DELIVERY_BYTES, decode_cost=_decode_cost
            )
            uri = f"http://sandbox.localdomain:{port}"
            result = subscribe(self._ctx.runtime_api, self._ctx.extension_id, uri)
        if not result.ok:
            self._ctx.pipeline.counters.add("telemetry_subscription_refused")
            _log.warning(
                "Telemetry API subscription refused (HTTP %s: %s): continuing without platform telemetry "
                "(no platform metrics, no timeout/crash spans, no function logs)",
                result.status,
                result.message,
            )
            return False
        self.subscribed_schema = result.schema
        _log.info("subscribed to the Telemetry API, schema %s, listening on %s", result.schema, uri)
        self._ctx.on_event(self._on_event)
        self._ctx.on_shutdown(self._on_shutdown)
        self._expect(True)
        return True

    def _expect(self, on: bool) -> None:
        """Whether the extension holds ``/event/next`` until ``runtime_done`` (the agent's final or ours).

        On from the start: an agent (whose export thread would otherwise be frozen with the sandbox) is then
        waited for from its first invocation. Off once ``AGENTLESS_LIMIT`` invocations passed without any
        agent data: for a function without an agent, waiting for our runtimeDone would add the 25 ms buffering
        timeout to every billed duration, for nothing (our own data is complete only at platform.report,
        which comes after ``/event/next``). Back on as soon as an agent reports.
        """
        if on != self._expecting:
            self._expecting = on
            self._ctx.pipeline.expect_runtime_done(on)

    # --- inputs ---------------------------------------------------------------------------------------------
    def _handle(self, req: HttpRequest) -> HttpResponse:
        if req.method not in ("POST", "PUT"):
            return self._response(405, b"")
        self.translator.handle_body(req.body)
        self._report_stats()
        agentless = self.translator.stats["agentless_invocations"] >= AGENTLESS_LIMIT
        if self._expecting and agentless and not self._agent_seen:
            self._expect(False)
        return self._response(200, b"")

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("eventType") == "INVOKE":
            self.translator.on_invoke(event)
        elif event.get("eventType") == "SHUTDOWN":
            self._reason = str(event.get("shutdownReason") or "spindown").lower()

    def _on_shutdown(self, deadline: float) -> None:
        wait = min(SHUTDOWN_WAIT_S, max(0.0, (deadline - time.monotonic()) / 3))
        if not self.translator.wait_settled(wait):
            _log.info(
                "shutdown: finalizing %d invocations without report", len(self.translator.open_invocations())
            )
        self.translator.on_shutdown(self._reason)
        self._report_stats()

    def note_agent_data(self, request_id: str, signal: str, data: bytes, final: bool) -> None:
        if not self._agent_seen:
            self._agent_seen = True
            self._expect(True)
        self.translator.on_agent_data(request_id, signal, data, final)

    def _runtime_done(self, request_id: str, agent_pending: bool) -> None:
        """platform.runtimeDone: end the extension's wait, after a grace period when an agent that has not
        handed over yet may still be exporting (its final batch normally ends the wait first)."""
        if not agent_pending:
            self._ctx.pipeline.runtime_done(request_id)
            return
        timer = threading.Timer(AGENT_GRACE_S, self._ctx.pipeline.runtime_done, (request_id,))
        timer.daemon = True
        timer.start()

    # --- outputs --------------------------------------------------------------------------------------------
    def _emit(self, signal: Signal, request: dict[str, Any], request_id: str | None) -> None:
        from zerolag.otlp import protobuf

        items = len(ob.items_of(signal, request))
        if signal == "metrics":
            items = sum(len(next(iter(_points(m)), [])) for m in ob.items_of(signal, request))
        self._ctx.pipeline.submit(signal, protobuf.encode(signal, request), items, request_id=request_id)

    def _report_stats(self) -> None:
        stats = Counter(self.translator.stats)
        for name, value in stats.items():
            delta = value - self._reported[name]
            if delta > 0:
                self._ctx.pipeline.counters.add(f"telemetry_{name}", delta)
        self._reported = stats


def _points(metric: dict[str, Any]) -> list[list[Any]]:
    return [
        body["dataPoints"] for key, body in metric.items() if isinstance(body, dict) and "dataPoints" in body
    ]


def start(ctx: ExtensionContext) -> None:
    """Plugin entry point: subscribe unless ``ZEROLAG_TELEMETRY=false``; a refusal is logged, not raised."""
    global _active
    if not enabled(ctx.env):
        _log.info("Telemetry API subscription off (%s=false)", ENV_SWITCH)
        return
    service = TelemetryService(ctx)
    if service.start():
        with _active_lock:
            _active = service


def note_agent_data(request_id: str, signal: str, data: bytes, final: bool) -> None:
    """Tell the telemetry translator what an agent sent for ``request_id`` (no-op without a subscription).

    ``request_id`` "" is an untagged batch (e.g. the OpenTelemetry SDK's own exporter): only its traces are
    kept, to recognise a SERVER span that already reports an invocation."""
    service = _active
    if service is None:
        return
    if request_id:
        service.note_agent_data(request_id, signal, data, final)
    elif signal == "traces":
        service.translator.on_untagged_traces(data)
