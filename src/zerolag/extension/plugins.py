"""The plugins started after registration (docs/INTERFACES.md, "Extension in-process seam")."""

from __future__ import annotations

from typing import Final

PLUGINS: Final = ("zerolag.extension.telemetry", "zerolag.extension.thundra")
EARLY_PORTS: Final = {"thundra": ("ZEROLAG_THUNDRA_PORT", 3333)}  # bound before registration
