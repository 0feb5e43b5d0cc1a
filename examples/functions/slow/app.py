"""A handler that runs past its timeout: the agent reports what was open, a margin before the deadline."""

from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger("report-builder")
logger.setLevel(logging.INFO)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.info("building report %s", event.get("report", "monthly"))
    time.sleep(float(event.get("seconds", 30)))  # far beyond the function's timeout
    return {"done": True}
