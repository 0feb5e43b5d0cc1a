"""Functions that behave well and badly, one handler each, for the emulator's tests and demo."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import uuid
from typing import Any

_TICKS: list[float] = []
_TICKER: threading.Thread | None = None


def ok(event: Any, context: Any) -> dict[str, Any]:
    return {"ok": True, "event": event}


def stamp(event: Any, context: Any) -> float:
    """The wall-clock time the handler started."""
    return time.time()


def boom(event: Any, context: Any) -> None:
    raise ValueError("boom")


def sleepy(event: Any, context: Any) -> str:
    time.sleep(float(event.get("seconds", 10)))
    return "woke"


def crash(event: Any, context: Any) -> None:
    print("about to crash", flush=True)
    os._exit(int(event.get("code", 1)) if isinstance(event, dict) else 1)


def big(event: Any, context: Any) -> str:
    return "x" * (7 * 1024 * 1024)


def hog(event: Any, context: Any) -> int:
    blocks = [bytearray(16 * 1024 * 1024) for _ in range(int(event.get("blocks", 64)))]
    for b in blocks:
        b[::4096] = b"\x01" * len(b[::4096])
    return len(blocks)


def info(event: Any, context: Any) -> dict[str, Any]:
    """What the function sees: environment, sys.path, cwd, executable, remaining time."""
    return {
        "env": dict(os.environ),
        "sys_path": sys.path,
        "cwd": os.getcwd(),
        "executable": sys.executable,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "client_context": getattr(context.client_context, "custom", None),
        "identity_id": getattr(context.identity, "cognito_identity_id", None),
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("pytest", "zerolag", "click")),
    }


def _tick() -> None:
    while True:
        _TICKS.append(time.time())
        time.sleep(0.005)


def ticker(event: Any, context: Any) -> list[float]:
    """Starts a background thread recording wall-clock ticks; returns (and clears) the ticks so far."""
    global _TICKER
    if _TICKER is None:
        _TICKER = threading.Thread(target=_tick, daemon=True)
        _TICKER.start()
    ticks = list(_TICKS)
    _TICKS.clear()
    return ticks


_TOKEN = uuid.uuid4().hex  # one per runtime process: tells sandboxes apart


def token(event: Any, context: Any) -> dict[str, Any]:
    """Which runtime process (so which sandbox) ran this invocation."""
    return {"token": _TOKEN, "request_id": context.aws_request_id}


def gate(event: Any, context: Any) -> dict[str, Any]:
    """Connect to ``event["gate"]`` (host:port), say this process's token, and wait until released;
    with ``event["note"]``, print it first (tests of async order)."""
    if event.get("note") is not None:
        print(f"note {event['note']}", flush=True)
    host, _, port = str(event["gate"]).rpartition(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(f"{_TOKEN} {event.get('note', '')} {context.aws_request_id}\n".encode())
        conn.recv(1)
    return {"token": _TOKEN, **_sandbox_facts()}


def _sandbox_facts() -> dict[str, Any]:
    """What the sandbox was made with, as the function sees it: its user, /tmp's size, its interpreter."""
    tmp = os.statvfs("/tmp")
    return {
        "uid": os.getuid(),
        "tmp_mib": tmp.f_blocks * tmp.f_frsize / 2**20,
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
    }


def report(event: Any, context: Any) -> dict[str, Any]:
    """Send ``event["note"]`` to the loopback collector at ``event["to"]`` (tests of async order)."""
    host, _, port = str(event["to"]).rpartition(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(f"{event['note']}\n".encode())
    return {"token": _TOKEN}
