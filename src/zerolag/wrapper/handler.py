"""The handler the exec wrapper swaps in: the user's original handler, wrapped by the agent.

It loads ``$ZEROLAG_ORIGINAL_HANDLER`` the way the runtime would have (with awslambdaric's own loader when it
is there, so import errors, missing handlers and syntax errors are reported with the same error types and
messages), then wraps it with ``zerolag.agent.instrument``. Loading happens at import, in the Init phase.
"""

from __future__ import annotations

import os
import sys

from zerolag.agent.handler import instrument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

ORIGINAL_HANDLER_ENV = "ZEROLAG_ORIGINAL_HANDLER"


def load(spec: str) -> Callable[..., Any]:
    """The handler named ``module.function`` (the module may be a path with ``/``)."""
    # The runtime interface client that is running us (already imported, so this costs nothing).
    runtime = sys.modules.get("awslambdaric.bootstrap")
    _get_handler = getattr(runtime, "_get_handler", None)
    if _get_handler is not None:
        found: Callable[..., Any] = _get_handler(spec)
        return found
    import importlib

    module_name, _, function_name = spec.rpartition(".")
    module = importlib.import_module(module_name.replace("/", "."))
    target: Callable[..., Any] = getattr(module, function_name)
    return target


def _original() -> str:
    spec = os.environ.get(ORIGINAL_HANDLER_ENV, "")
    if not spec:
        raise RuntimeError(f"zerolag: {ORIGINAL_HANDLER_ENV} is not set; was the exec wrapper used?")
    return spec


handler = instrument(load(_original()))
