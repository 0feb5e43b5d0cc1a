"""``ExtensionContext``: what a plugin gets (docs/INTERFACES.md, "Extension in-process seam")."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from zerolag.extension.config import ExtensionConfig
from zerolag.extension.http import Handler
from zerolag.extension.pipeline import Pipeline
from zerolag.extension.server import DecodeCost, HttpServer, bind_loopback

_log = logging.getLogger(__name__)
EventHook = Callable[[dict[str, Any]], None]
ShutdownHook = Callable[[float], None]


class ExtensionContext:
    def __init__(
        self,
        config: ExtensionConfig,
        *,
        env: Mapping[str, str],
        extension_id: str,
        runtime_api: str,
        pipeline: Pipeline,
        listeners: dict[str, socket.socket] | None = None,
    ) -> None:
        self.config = config
        self.env = env
        self.extension_id = extension_id
        self.runtime_api = runtime_api
        self.pipeline = pipeline
        self._listeners = dict(listeners or {})
        # (status, schema, reply) of the Telemetry API subscription made before start-up (docs/telemetry.md)
        self.telemetry_subscription: tuple[int, str, str] | None = None
        self.event_hooks: list[EventHook] = []
        self.shutdown_hooks: list[ShutdownHook] = []
        self.servers: list[HttpServer] = []

    def listener(self, name: str) -> socket.socket | None:
        """The socket bound before registration under ``name`` (handed over once), None if it could not
        bind.
        """
        return self._listeners.pop(name, None)

    def serve_http(
        self,
        handler: Handler,
        *,
        sock: socket.socket | None = None,
        port: int = 0,
        name: str = "",
        max_body: int | None = None,
        decode_cost: DecodeCost | None = None,
    ) -> int:
        """Serve ``handler`` on ``sock`` or a new ``127.0.0.1:port`` socket; returns the bound port.
        ``max_body`` (default ``ZEROLAG_MAX_REQUEST_BYTES``) and ``decode_cost`` bound its memory within the
        shared intake budget (docs/extension.md)."""
        server = HttpServer(
            sock if sock is not None else bind_loopback(port),
            handler,
            max_body=self.config.max_request_bytes if max_body is None else max_body,
            decode_cost=decode_cost,
            on_error=lambda what: self._count_error(name or "plugin", what),
            name=name or "plugin",
        )
        server.start()
        self.servers.append(server)
        return server.port

    def on_event(self, callback: EventHook) -> None:
        self.event_hooks.append(callback)

    def on_shutdown(self, callback: ShutdownHook) -> None:
        self.shutdown_hooks.append(callback)

    def start_thread(self, target: Callable[[], None], name: str) -> threading.Thread:
        def guarded() -> None:
            try:
                target()
            except Exception:
                self.pipeline.counters.add("plugin_errors")
                _log.exception("thread %s failed", name)

        thread = threading.Thread(target=guarded, name=f"zerolag-{name}", daemon=True)
        thread.start()
        return thread

    def _count_error(self, name: str, what: str) -> None:
        self.pipeline.counters.add("handler_errors")
        _log.error("%s (%s)", what, name)

    def run_event_hooks(self, event: dict[str, Any]) -> None:
        for hook in self.event_hooks:
            try:
                hook(event)
            except Exception:
                self.pipeline.counters.add("plugin_errors")
                _log.exception("event hook failed")

    def run_shutdown_hooks(self, deadline: float) -> None:
        for hook in self.shutdown_hooks:
            try:
                hook(deadline)
            except Exception:
                self.pipeline.counters.add("plugin_errors")
                _log.exception("shutdown hook failed")
