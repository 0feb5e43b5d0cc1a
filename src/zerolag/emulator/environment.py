"""The environment variables of the sandbox (contract section 4): the function's and the extensions'."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from zerolag import lambda_wire as wire
from zerolag.emulator.runtime_files import current_interpreter

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "012345678912"  # RIE's hard-coded account (contract section 5)
VERSION = "$LATEST"


@dataclass(frozen=True)
class FunctionConfig:
    """What a function is, as the platform knows it."""

    handler: str
    function_name: str = "function"
    memory_mb: int = 128
    timeout_s: float = 3.0
    env: dict[str, str] = field(default_factory=dict)
    account_id: str = DEFAULT_ACCOUNT
    # a name of the runtime table (runtimes.py): python3.X, nodejs18.x/20.x/22.x, provided, provided.al2,
    # provided.al2023
    runtime: str = field(default_factory=lambda: current_interpreter().runtime)
    init_timeout_s: float = wire.INIT_TIMEOUT_S

    @property
    def region(self) -> str:
        return self.env.get("AWS_REGION") or self.env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    @property
    def log_format(self) -> str:
        return "JSON" if self.env.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON" else "Text"


def log_stream_name() -> str:
    return time.strftime("%Y/%m/%d", time.gmtime()) + f"/[{VERSION}]" + secrets.token_hex(16)


def function_environment(
    cfg: FunctionConfig, *, api: str, task: str, runtime: str, lang: str, opt: str
) -> dict[str, str]:
    """The runtime's environment: the reserved variables, then the user's (which may not override reserved
    ones except the region and the credentials)."""
    reserved = {
        "_HANDLER": cfg.handler,
        "AWS_REGION": cfg.region,
        "AWS_DEFAULT_REGION": cfg.region,
        "AWS_LAMBDA_FUNCTION_NAME": cfg.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(cfg.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": VERSION,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{cfg.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(),
        "AWS_LAMBDA_RUNTIME_API": api,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "LAMBDA_TASK_ROOT": task,
        "LAMBDA_RUNTIME_DIR": runtime,
        "TZ": ":UTC",
    }
    unreserved = {
        "LANG": "en_US.UTF-8",
        "PATH": f"{lang}/bin:/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
        "LD_LIBRARY_PATH": ":".join(
            [
                f"{lang}/lib",
                "/lib64",
                "/usr/lib64",
                runtime,
                f"{runtime}/lib",
                task,
                f"{task}/lib",
                f"{opt}/lib",
            ]
        ),
    }
    overridable = {"AWS_REGION", "AWS_DEFAULT_REGION"}
    user = {k: v for k, v in cfg.env.items() if k not in reserved or k in overridable}
    return {**unreserved, **reserved, **user}


def extension_environment(function_env: dict[str, str]) -> dict[str, str]:
    """The function's environment minus the excluded and ``_``-prefixed names (contract section 2)."""
    return wire.extension_environment(function_env)
