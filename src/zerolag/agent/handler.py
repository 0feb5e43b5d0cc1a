"""Wrapping a Lambda handler: one decorator, also used by the exec wrapper's handler swap.

The wrapped handler runs exactly as before: same arguments, same result, same exception object re-raised.
The agent only adds the invocation span around it and hands the telemetry over when it returns.
"""

from __future__ import annotations

from zerolag.agent import runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    H = TypeVar("H", bound=Callable[..., Any])


def instrument(handler: H | None = None, *, name: str | None = None) -> Any:
    """``@instrument`` or ``@instrument(name="checkout")`` on a Lambda handler ``(event, context)``."""

    def wrap(fn: H) -> H:
        import os

        from zerolag.agent.spans import wraps

        agent = runtime.get()
        if agent is None or getattr(fn, "__zerolag_wrapped__", False):
            return fn
        span_name = name or os.environ.get("AWS_LAMBDA_FUNCTION_NAME") or fn.__name__

        def wrapped(event: Any, context: Any = None) -> Any:
            inv = agent.begin(event, context, span_name)
            try:
                result = fn(event, context)
            except BaseException as exc:
                agent.finish(inv, None, exc)
                raise
            agent.finish(inv, result, None)
            return result

        out = wraps(fn, wrapped)
        out.__zerolag_wrapped__ = True  # type: ignore[attr-defined]
        return out  # type: ignore[return-value]

    return wrap(handler) if handler is not None else wrap
