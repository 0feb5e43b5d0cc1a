"""zerolag's in-function agent: traces, metrics and logs for a Lambda handler at almost no cost.

Public API (each name is imported on first use, so ``import zerolag.agent`` costs next to nothing)::

    from zerolag.agent import instrument, span, traced, counter, gauge, histogram

    @instrument
    def handler(event, context):
        with span("load-user", user_id=7):
            counter("orders", 1, region="eu")
        ...

``current_span()`` returns the open span; ``flush(timeout)`` waits until the exporter has sent everything.
Configuration comes from the environment (docs/agent.md).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from zerolag.agent.handler import instrument
    from zerolag.agent.metrics import counter, gauge, histogram, set_histogram_bounds
    from zerolag.agent.spans import Span, current_span, span, start_span, traced

__all__ = [
    "Span",
    "counter",
    "current_span",
    "flush",
    "gauge",
    "histogram",
    "instrument",
    "set_histogram_bounds",
    "span",
    "start_span",
    "traced",
]

_WHERE = {
    "instrument": "zerolag.agent.handler",
    "counter": "zerolag.agent.metrics",
    "gauge": "zerolag.agent.metrics",
    "histogram": "zerolag.agent.metrics",
    "set_histogram_bounds": "zerolag.agent.metrics",
    "Span": "zerolag.agent.spans",
    "current_span": "zerolag.agent.spans",
    "span": "zerolag.agent.spans",
    "start_span": "zerolag.agent.spans",
    "traced": "zerolag.agent.spans",
}


def flush(timeout: float = 5.0) -> bool:
    """Wait until the telemetry handed over so far has been exported (True) or ``timeout`` passed (False)."""
    from zerolag.agent import runtime

    agent = runtime.get()
    return agent.flush(timeout) if agent is not None else True


def __getattr__(name: str) -> Any:
    module_name = _WHERE.get(name)
    if module_name is None:
        raise AttributeError(f"module 'zerolag.agent' has no attribute {name!r}")
    value = getattr(__import__(module_name, fromlist=[name]), name)  # no importlib: it costs ~1 ms
    globals()[name] = value
    return value
