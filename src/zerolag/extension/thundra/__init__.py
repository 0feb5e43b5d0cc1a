"""Thundra agent compatibility: a local collector for ``THUNDRA_AGENT_REPORT_REST_LOCAL=true``.

See docs/thundra.md. Submodules are imported on demand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zerolag.extension.context import ExtensionContext


def start(ctx: ExtensionContext) -> None:
    """Plugin entry point (docs/INTERFACES.md): serve the Thundra paths on the early-bound port."""
    from zerolag.extension.thundra import server

    server.start(ctx)
