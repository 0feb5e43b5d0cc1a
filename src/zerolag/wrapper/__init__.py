"""zerolag's exec wrapper: the ``zerolag-wrapper`` script (package data, copied to ``/opt/zerolag-wrapper``
by the layer builder) and ``zerolag.wrapper.handler``, the handler it swaps in.

``script_path()`` gives the script's location in this installation.
"""

from __future__ import annotations

SCRIPT_NAME = "zerolag-wrapper"
HANDLER = "zerolag.wrapper.handler.handler"
ORIGINAL_HANDLER_ENV = "ZEROLAG_ORIGINAL_HANDLER"

# The variables the wrapper script reads (documented in docs/agent.md; a test keeps them in sync).
ENV_VARS = {
    "ZEROLAG_WRAPPER_ARGS": "interpreter arguments inserted after the interpreter (e.g. `-X importtime`)",
    "ZEROLAG_ENV_<NAME>": "sets `NAME`; NODE_OPTIONS, JAVA_TOOL_OPTIONS, DOTNET_STARTUP_HOOKS, PYTHONPATH "
    "and similar list variables are merged, not replaced",
    "ZEROLAG_NEXT_WRAPPER": "another exec wrapper to chain (it gets the interpreter and the arguments)",
    "ZEROLAG_ORIGINAL_HANDLER": "set by the wrapper: the user's handler, loaded by `zerolag.wrapper.handler`",
}


def script_path() -> str:
    """The absolute path of the wrapper script shipped with this package."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SCRIPT_NAME)
