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


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if len(s) >= 4)

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
    return logger
