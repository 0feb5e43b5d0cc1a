"""Wiring, after registration: configuration, logs, pipeline, receiver, plugins, then the event loop.

Loaded while the runtime initialises (the platform starts the runtime once every extension has registered).
Failures here are reported as ``/extension/init/error`` with a message that names the cause.
"""

from __future__ import annotations

import _socket
import dataclasses
import importlib
import logging
import random
import socket
import sys
from collections.abc import Mapping

from zerolag.extension import extapi
from zerolag.extension.backoff import Backoff
from zerolag.extension.breaker import CircuitBreaker
from zerolag.extension.buffer import MemoryBuffer
from zerolag.extension.config import ConfigError, ExtensionConfig, load_config
from zerolag.extension.context import ExtensionContext
from zerolag.extension.counters import Counters
from zerolag.extension.early import EarlySink
from zerolag.extension.flush import FlushPolicy
from zerolag.extension.forwarder import Forwarder
from zerolag.extension.log import setup as setup_logging
from zerolag.extension.loop import EventLoop
from zerolag.extension.pipeline import Pipeline
from zerolag.extension.plugins import PLUGINS
from zerolag.extension.server import HttpServer
from zerolag.extension.spool import Spool
from zerolag.extension.store import Store

_log = logging.getLogger("zerolag.extension")
API_KEY_VARIABLES = ("ZEROLAG_API_KEY_SECRET_ARN", "ZEROLAG_API_KEY_SSM_PARAMETER")


class PluginError(RuntimeError):
    pass


def build_pipeline(config: ExtensionConfig, counters: Counters, rng: random.Random | None = None) -> Pipeline:
    """The pipeline for ``config`` (no threads started)."""
    spool = Spool(config.spool_dir, config.spool_bytes, count=counters.add)
    recovered = spool.recover()
    if recovered:
        _log.info("spool: %d entries left by a previous run will be resent", recovered)
    store = Store(MemoryBuffer(config.buffer_bytes), spool, counters, config.batch_bytes)
    forwarder = None
    if config.otlp_endpoint:
        forwarder = Forwarder(config.otlp_endpoint, config.otlp_headers, config.send_timeout_ms / 1000)
    policy = FlushPolicy(
        config.flush,
        budget_s=config.flush_budget_ms / 1000,
        margin_s=config.deadline_margin_ms / 1000,
        max_delay_s=config.max_delay_ms / 1000,
    )
    breaker = CircuitBreaker(
        config.breaker_failures, config.breaker_open_ms / 1000, config.retry_max_ms / 1000
    )
    backoff = Backoff(0.1, config.retry_max_ms / 1000, rng or random.Random())
    return Pipeline(
        store, forwarder=forwarder, policy=policy, breaker=breaker, backoff=backoff, counters=counters
    )


def start_plugins(ctx: ExtensionContext, names: tuple[str, ...] = PLUGINS) -> list[str]:
    """Import and start each plugin that exists; returns the names started."""
    started = []
    for name in names:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise PluginError(f"{name}: {exc}") from exc
        start = getattr(module, "start", None)
        if start is None:
            continue
        try:
            start(ctx)
        except Exception as exc:
            raise PluginError(f"{name}: {type(exc).__name__}: {exc}") from exc
        started.append(name)
    return started


def with_api_key(config: ExtensionConfig, env: Mapping[str, str]) -> ExtensionConfig:
    """Add ``Authorization: Bearer <key>`` when the key lives in Secrets Manager or SSM (docs/deploy.md),
    unless ``ZEROLAG_OTLP_HEADERS`` already sets an Authorization header. Nothing is imported otherwise."""
    if not any(env.get(name, "").strip() for name in API_KEY_VARIABLES):
        return config
    from zerolag.extension.secrets import resolve_api_key

    key = resolve_api_key(env)
    if key is None or any(name.lower() == "authorization" for name, _ in config.otlp_headers):
        return config
    return dataclasses.replace(
        config, otlp_headers=(*config.otlp_headers, ("Authorization", f"Bearer {key}"))
    )


def _fail_init(api: str, ext_id: str, error_type: str, message: str) -> None:
    """Report an init failure to the platform, and say why on stderr: Lambda shows the extension's output in
    the function's logs, but not the message of an init error."""
    import json

    line = {"level": "ERROR", "logger": "zerolag.extension", "message": message, "errorType": error_type}
    sys.stderr.write(json.dumps(line) + "\n")
    sys.stderr.flush()
    extapi.report_error(api, ext_id, error_type, message, init=True)


def adopt(raw: _socket.socket) -> socket.socket:
    """The ``socket.socket`` for a listener bound with ``_socket`` before registration."""
    return socket.socket(raw.family, raw.type, raw.proto, fileno=raw.detach())


def run(
    env: Mapping[str, str],
    api: str,
    ext_id: str,
    *,
    receiver: HttpServer,
    early_sink: EarlySink,
    raw_listeners: dict[str, _socket.socket],
    telemetry_subscription: tuple[int, str, str] | None = None,
) -> int:
    """Load the configuration and everything else, hand the early receiver's data to the pipeline, start
    the plugins, then run the event loop (returns the exit code)."""
    from zerolag.extension import memory

    memory.tune()  # freed request bodies go back to the sandbox (ctypes: ~5-18 ms, off the receiver's path)
    listeners = {name: adopt(raw) for name, raw in raw_listeners.items()}
    try:
        config = with_api_key(load_config(env), env)
    except ConfigError as exc:
        _fail_init(api, ext_id, "Extension.ConfigError", str(exc))
        return 1
    except ValueError as exc:  # secrets.ApiKeyError: its message names the variable, never the key
        _fail_init(api, ext_id, "Extension.ApiKeyError", str(exc))
        return 1
    setup_logging(config.log_level, secrets=tuple(value for _, value in config.otlp_headers))
    counters = Counters()
    pipeline = build_pipeline(config, counters)
    ctx = ExtensionContext(
        config, env=env, extension_id=ext_id, runtime_api=api, pipeline=pipeline, listeners=listeners
    )
    ctx.telemetry_subscription = telemetry_subscription  # made right after registering (__main__)
    receiver.max_body = config.max_request_bytes
    early_sink.attach(pipeline)
    pipeline.start()
    try:
        plugins = start_plugins(ctx)
    except PluginError as exc:
        _fail_init(api, ext_id, "Extension.PluginError", str(exc))
        return 1
    _log.info(
        "ready",
        extra={
            "fields": {
                "port": receiver.port,
                "flush": str(config.flush),
                "plugins": plugins,
                "backend": bool(config.otlp_endpoint),
            }
        },
    )
    return EventLoop(ctx, env).run()
