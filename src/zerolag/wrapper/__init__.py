"""zerolag's exec wrapper: the ``zerolag-wrapper`` script (package data, copied to ``/opt/zerolag-wrapper``
by the layer builder) and ``zerolag.wrapper.handler``, the handler it swaps in.

``script_path()`` gives the script's location in this installation.
"""

from __future__ import annotations

SCRIPT_NAME = "zerolag-wrapper"
HANDLER = "zerolag.wrapper.handler.handler"
ORIGINAL_HANDLER_ENV = "ZEROLAG_ORIGINAL_HANDLER"


def script_path() -> str:
    """The absolute path of the wrapper script shipped with this package."""
    import os

    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SCRIPT_NAME)
