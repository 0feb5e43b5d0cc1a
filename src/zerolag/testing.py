"""Testing helpers for users: run a handler in the local Lambda emulator from pytest.

Registered as a pytest plugin (entry point ``zerolag``), or import the fixture explicitly::

    from zerolag.testing import lambda_sandbox  # noqa: F401

    def test_my_handler(lambda_sandbox):
        sb = lambda_sandbox(code="src", handler="app.handler", env={"TABLE": "t"})
        result = sb.invoke({"id": 1})
        assert result.status == "success"
        assert result.json() == {"ok": True}

Every sandbox a test starts is shut down (SHUTDOWN to extensions, processes killed, mounts and cgroups
removed) when the test ends, even when it fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from zerolag.emulator import Sandbox


class SandboxFactory(Protocol):
    def __call__(
        self, code: str | os.PathLike[str], handler: str, **options: Any
    ) -> Sandbox: ...  # pragma: no cover - protocol


@pytest.fixture
def lambda_sandbox() -> Iterator[SandboxFactory]:
    """A factory: ``lambda_sandbox(code=..., handler=..., **Sandbox options)`` returns a started Sandbox."""
    from zerolag.emulator import Sandbox

    started: list[Sandbox] = []

    def start(code: str | os.PathLike[str], handler: str, **options: Any) -> Sandbox:
        sb = Sandbox(code=code, handler=handler, **options)
        started.append(sb)
        sb.start()
        return sb

    yield start
    for sb in reversed(started):
        sb.shutdown()
