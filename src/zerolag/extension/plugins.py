"""The plugins started after registration (docs/INTERFACES.md, "Extension in-process seam")."""

from __future__ import annotations

# No ``typing`` import here: this module is loaded before registration, where every millisecond counts.
PLUGINS = ("zerolag.extension.telemetry", "zerolag.extension.thundra")
EARLY_PORTS = {"thundra": ("ZEROLAG_THUNDRA_PORT", 3333)}  # bound before registration
