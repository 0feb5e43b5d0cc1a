"""A handler that raises: the exception is recorded on the invocation span, and the invocation fails."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger("payments")
logger.setLevel(logging.INFO)


class PaymentDeclined(Exception):
    """The card was declined."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.info("charging %s cents", event.get("amount", 0))
    raise PaymentDeclined(f"card ending {event.get('card', '0000')} declined")
