"""The extension's logs: one JSON object per line on stderr (Lambda sends it to CloudWatch).

Configured once at start-up on the ``zerolag`` logger. Values that look like secrets are never passed to it:
the backend headers are not in any log call, and ``redact`` masks them should one slip into a message.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def secret_forms(values: tuple[str, ...]) -> tuple[str, ...]:
    """Every form in which a header value could appear in a message: itself, its credential without the
    scheme (``Bearer <key>`` -> ``<key>``), and the ``user:password`` inside a Basic token; longest first."""
    import base64
    import binascii

    forms: set[str] = set()
    for value in values:
        forms.add(value)
        scheme, _, credential = value.partition(" ")
        if credential:
            forms.add(credential)
            if scheme.lower() == "basic":
                try:
                    userinfo = base64.b64decode(credential, validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    continue
                forms.add(userinfo)
                forms.add(userinfo.partition(":")[2])
        forms.add(repr(value)[1:-1])  # as it shows inside a repr (escaped)
    return tuple(sorted((f for f in forms if len(f) >= 4), key=len, reverse=True))


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = secret_forms(secrets)

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(entry, separators=(",", ":"), default=str))

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def setup(level: str, secrets: tuple[str, ...] = (), stream: Any = None) -> logging.Logger:
    """Send the ``zerolag`` loggers' records to ``stream`` (stderr) as JSON lines."""
    logger = logging.getLogger("zerolag")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    logger.handlers[:] = [handler]
    logger.setLevel(LEVELS.get(level, logging.INFO))
    logger.propagate = False
    _route_uncaught(logger)
    return logger


def _route_uncaught(logger: logging.Logger) -> None:
    """An exception that escapes a thread (or the main thread) is logged through the redacting formatter,
    never printed raw by Python's default hooks: its traceback could quote a header value."""
    import threading

    def on_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "thread"
        exc_info = (args.exc_type, args.exc_value, args.exc_traceback)
        logger.error("uncaught exception in %s", name, exc_info=exc_info)

    def on_main(exc_type: Any, exc: BaseException, tb: Any) -> None:
        logger.error("uncaught exception", exc_info=(exc_type, exc, tb))

    threading.excepthook = on_thread
    sys.excepthook = on_main
