"""Telemetry API ingestion: subscription, listener and the translation of platform events to OTLP.

See docs/telemetry.md. Submodules are imported on demand (the extension's start-up stays cheap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zerolag.extension.context import ExtensionContext


def start(ctx: ExtensionContext) -> None:
    """Plugin entry point (docs/INTERFACES.md): listen, subscribe, translate."""
    from zerolag.extension.telemetry import service

    service.start(ctx)


def note_agent_data(request_id: str, signal: str, data: bytes, final: bool) -> None:
    """An agent sent ``data`` (OTLP protobuf of ``signal``) tagged ``X-Zerolag-Request-Id: request_id``.

    ``final`` is ``X-Zerolag-Final: true``. The translator uses it to avoid a second invocation span and
    to link timeout/crash spans to the agent's trace. Cheap: the bytes are decoded only if needed.
    """
    from zerolag.extension.telemetry import service

    service.note_agent_data(request_id, signal, data, final)
