"""Helpers for the extension's end-to-end tests in the emulator: the layer, ports, env, and log lines."""

from __future__ import annotations

import functools
import json
import socket
import tempfile
from pathlib import Path
from typing import Any

from ext_backend import Backend

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = Path(__file__).resolve().parent / "functions"
OTEL_LAYER = ROOT / ".venv" / "layers" / "otel-sdk"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@functools.cache
def layer_dir() -> Path:
    """The zerolag layer, built once per test session with the layer builder."""
    from zerolag.layer.build import build_layer_tree

    return build_layer_tree(Path(tempfile.mkdtemp(prefix="zerolag-e2e-")) / "layer")


def extension_env(backend: Backend | None, tmp: Path, **extra: str) -> dict[str, str]:
    """The function's env: the SDK points at the extension, the extension at the test backend."""
    port = free_port()
    env = {
        "ZEROLAG_EXTENSION_PORT": str(port),
        "ZEROLAG_THUNDRA_PORT": "0",
        "ZEROLAG_SPOOL_DIR": str(tmp / "spool"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://localhost:{port}",
        "OTEL_SERVICE_NAME": "e2e",
    }
    if backend is not None:
        env["ZEROLAG_OTLP_ENDPOINT"] = backend.endpoint
    env.update(extra)
    return env


def extension_lines(logs: list[Any], message: str | None = None) -> list[dict[str, Any]]:
    """The extension's JSON log lines (optionally only those with ``message``)."""
    out = []
    for line in logs:
        if line.source != "extension":
            continue
        try:
            entry = json.loads(line.text)
        except ValueError:
            continue
        if isinstance(entry, dict) and (message is None or entry.get("message") == message):
            out.append(entry)
    return out
