"""The zerolag external extension: a local OTLP collector in the sandbox that forwards asynchronously.

Run as ``python3 -m zerolag.extension`` (the layer's ``extensions/zerolag`` launcher does). Start-up binds the
listeners, registers, then loads the rest while the runtime initialises; see docs/extension.md. This module
imports nothing, so start-up stays cheap.
"""
