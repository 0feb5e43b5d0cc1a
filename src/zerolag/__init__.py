"""zerolag: zero-overhead telemetry for AWS Lambda.

Components (one subpackage each): ``agent`` (in-function tracer), ``extension`` (external extension with a
local OTLP collector), ``wrapper`` (AWS_LAMBDA_EXEC_WRAPPER), ``emulator`` (local Lambda sandbox),
``collector`` (OTLP backend + viewer), ``layer`` (build/verify/publish) and ``cli``.
Shared modules are named for what they are: ``lambda_wire`` (the Lambda wire types) and ``otlp`` (the OTLP
model and codecs).

This module imports nothing: importing ``zerolag.agent`` must stay cheap.
"""

__version__ = "0.1.0"
