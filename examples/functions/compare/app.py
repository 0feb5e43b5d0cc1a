"""The comparison function: an invocation span with 5 child spans and 3 log lines, the same work whether the
agent reports directly to a backend or hands its data to the extension over loopback."""

from __future__ import annotations

import logging
from typing import Any

from zerolag.agent import instrument, span

logger = logging.getLogger("compare")
logger.setLevel(logging.INFO)


@instrument
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    total = 0
    for step in range(5):
        with span(f"step-{step}", step=step):
            total += sum(range(100))
    logger.info("first")
    logger.info("second")
    logger.info("third")
    return {"total": total}
