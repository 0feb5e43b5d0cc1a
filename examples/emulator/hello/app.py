"""The smallest function: echoes its event."""

from __future__ import annotations

from typing import Any


def handler(event: Any, context: Any) -> dict[str, Any]:
    print("hello from the handler", flush=True)
    return {"echo": event, "request_id": context.aws_request_id}
