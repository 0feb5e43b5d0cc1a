"""Start-up, with the fewest imports possible: bind the listeners, register, then hand over to ``app``.

Binding comes first so nothing the function sends early is refused: connections wait in the listen backlog
until the receiver threads run. Only ``os``, ``socket`` and the wire constants are imported before the
registration; everything else is loaded while the runtime initialises.
"""

from __future__ import annotations

import _socket  # the C module: ``socket`` costs ~10 ms more (enum, selectors)
import os
import sys

from zerolag.extension import extapi
from zerolag.extension.plugins import EARLY_PORTS

DEFAULT_PORT = 4318


def _port(env: os._Environ[str], name: str, default: int) -> int | None:
    raw = env.get(name, "").strip() or str(default)
    return int(raw) if raw.isdigit() and int(raw) <= 65535 else None


def _bind(port: int) -> _socket.socket:
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
    sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def main() -> int:
    env = os.environ
    api = env.get("AWS_LAMBDA_RUNTIME_API", "")
    if not api:
        sys.stderr.write('{"level":"ERROR","message":"AWS_LAMBDA_RUNTIME_API is not set"}\n')
        return 1
    problem: tuple[str, str] | None = None
    otlp_sock: _socket.socket | None = None
    port = _port(env, "ZEROLAG_EXTENSION_PORT", DEFAULT_PORT)
    if port is None:
        problem = ("Extension.ConfigError", "ZEROLAG_EXTENSION_PORT: not a port number (0-65535)")
    else:
        try:
            otlp_sock = _bind(port)
        except OSError as exc:
            problem = (
                "Extension.PortInUse",
                f"ZEROLAG_EXTENSION_PORT: cannot listen on 127.0.0.1:{port}: {exc}",
            )
    listeners: dict[str, _socket.socket] = {}
    for name, (variable, default) in EARLY_PORTS.items():
        early = _port(env, variable, default)
        if early is not None:
            try:
                listeners[name] = _bind(early)
            except OSError:
                pass  # the plugin binds (or reports) itself later; this port is not essential
    telemetry_on = env.get("ZEROLAG_TELEMETRY", "true").strip().lower() not in ("false", "0", "no", "off")
    if telemetry_on:
        try:
            listeners["telemetry"] = _bind(0)
        except OSError:
            pass  # the plugin binds (and subscribes) itself later
    ext_id, _ = extapi.register(api, env.get("ZEROLAG_EXTENSION_NAME", "") or "zerolag")
    subscription = None
    if "telemetry" in listeners and problem is None:
        # First thing after registering: the runtime starts now, and Init may end within ~50 ms.
        port = listeners["telemetry"].getsockname()[1]
        subscription = extapi.subscribe_telemetry(api, ext_id, f"http://sandbox.localdomain:{port}")
    if problem is not None or otlp_sock is None:
        error_type, message = problem or ("Extension.InitError", "no listener")
        safe = message.replace("\\", "/").replace('"', "'")
        sys.stderr.write(f'{{"level":"ERROR","message":"{safe}"}}\n')
        extapi.report_error(api, ext_id, error_type, message, init=True)
        return 1
    # Serve the function first (it may send as soon as its runtime starts), then load the rest.
    import socket

    from zerolag.extension.early import start_receiver

    sock = socket.socket(otlp_sock.family, otlp_sock.type, otlp_sock.proto, fileno=otlp_sock.detach())
    receiver, sink = start_receiver(sock, env)
    from zerolag.extension import app

    return app.run(
        env,
        api,
        ext_id,
        receiver=receiver,
        early_sink=sink,
        raw_listeners=listeners,
        telemetry_subscription=subscription,
    )


if __name__ == "__main__":
    sys.exit(main())
