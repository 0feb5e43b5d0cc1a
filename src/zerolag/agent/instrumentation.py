"""Which libraries get instrumented, each only once the user's code imports it (see ``hooks``)."""

from __future__ import annotations

from zerolag.agent import hooks

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from zerolag.agent.config import Config


def _botocore(module: ModuleType) -> None:
    from zerolag.agent.inst_botocore import patch

    patch(module)


def _urllib3(module: ModuleType) -> None:
    from zerolag.agent.inst_http import patch_urllib3

    patch_urllib3(module)


def _requests(module: ModuleType) -> None:
    from zerolag.agent.inst_http import patch_requests

    patch_requests(module)


def _http_client(module: ModuleType) -> None:
    from zerolag.agent.inst_http import patch_http_client

    patch_http_client(module)


def _logging(module: ModuleType) -> None:
    from zerolag.agent.logs import patch_logging

    patch_logging(module)


def _threading(module: ModuleType) -> None:
    from zerolag.agent.inst_threads import patch_threading

    patch_threading(module)


def _executor(module: ModuleType) -> None:
    from zerolag.agent.inst_threads import patch_executor

    patch_executor(module)


def _opentelemetry(module: ModuleType) -> None:
    from zerolag.agent.otel_bridge import install

    install(module)


TARGETS = {
    "botocore": ("botocore.client", _botocore),
    "urllib3": ("urllib3.connectionpool", _urllib3),
    "requests": ("requests.sessions", _requests),
    "http.client": ("http.client", _http_client),
    "logging": ("logging", _logging),
    "opentelemetry": ("opentelemetry.trace", _opentelemetry),
    "threading": ("threading", _threading),
    "futures": ("concurrent.futures.thread", _executor),
}


def install(cfg: Config) -> None:
    """Register the lazy patches and the stdout tee, as configured."""
    for key, (module_name, patcher) in TARGETS.items():
        if key in cfg.disabled_instrumentations:
            continue
        if key == "logging" and not cfg.capture_logs:
            continue
        hooks.register(module_name, patcher)
    if cfg.capture_stdout:
        from zerolag.agent.logs import install_stdout

        install_stdout()
