"""The OTLP receiver, started right after registration, before the rest of the extension is loaded.

The function may send as soon as its runtime starts (which is when every extension has registered), while the
extension still imports its pipeline (``http.client``, ``ssl``, ``dataclasses``... tens of ms on a cold
sandbox). ``EarlySink`` holds what arrives until the pipeline exists, then hands it over in order.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from typing import Any

from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.server import HttpServer

DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
SWITCH_INTERVAL_S = 0.0005


class EarlySink:
    """Records calls until ``attach``; then replays them, in order, and forwards every later call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[tuple[str, tuple[Any, ...]]] = []
        self._target: Any = None

    def _call(self, name: str, args: tuple[Any, ...]) -> None:
        with self._lock:
            if self._target is None:
                self._held.append((name, args))
                return
            target = self._target
        getattr(target, name)(*args)

    def submit(self, signal: Any, data: bytes, items: int, request_id: str | None = None) -> None:
        self._call("submit", (signal, data, items, request_id))

    def runtime_done(self, request_id: str) -> None:
        self._call("runtime_done", (request_id,))

    def count(self, name: str, n: int = 1) -> None:
        self._call("count", (name, n))

    def attach(self, target: Any) -> int:
        """Hand over to ``target`` (a Pipeline); returns how many calls were held."""
        with self._lock:
            for name, args in self._held:
                getattr(target, name)(*args)
            held = len(self._held)
            self._held.clear()
            self._target = target
        return held


def max_request_bytes(env: Mapping[str, str]) -> int:
    """``ZEROLAG_MAX_REQUEST_BYTES`` if it is a sane integer (the full config validates it later)."""
    raw = env.get("ZEROLAG_MAX_REQUEST_BYTES", "").strip()
    return int(raw) if raw.isdigit() and 1024 <= int(raw) <= 1 << 28 else DEFAULT_MAX_REQUEST_BYTES


def start_receiver(sock: socket.socket, env: Mapping[str, str]) -> tuple[HttpServer, EarlySink]:
    """Serve the OTLP receiver on ``sock`` now, holding what arrives in an ``EarlySink``."""
    import sys

    from zerolag.extension.server import intake_budget, intake_bytes
    from zerolag.otlp import check  # noqa: F401 - loaded before serving: every first request needs it

    # Receiver threads must get the GIL back fast while the main thread imports (and later while the sender
    # works): the default 5 ms switch interval would show in the function's response latency.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    sink = EarlySink()
    intake_budget(intake_bytes(env))  # sized before any server exists: they all share it
    server = HttpServer(
        sock,
        OtlpReceiver(sink),
        max_body=max_request_bytes(env),
        on_error=lambda what: sink.count("handler_errors"),
        name="otlp",
    )
    server.start()
    return server, sink
