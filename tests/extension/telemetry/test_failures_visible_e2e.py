"""End to end in the emulator with the real awslambdaric: the failures a user most needs to see are visible.

- A function whose import fails fast (``Runtime.ImportModuleError``) gets an error span and its log lines,
  both in the cold start and in the suppressed-init retry at the next invoke.
- A handler raising ``ValueError`` (awslambdaric sends no error-type header) gets an error span carrying the
  exception's type and message, read from what the runtime printed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from e2e_support import attrs, base_env, otlp_backend, write_code

pytestmark = pytest.mark.e2e
STATUS_ERROR = 2


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from zerolag.layer.build import build_layer_tree

    return build_layer_tree(tmp_path_factory.mktemp("zerolag-layer") / "opt")


def _sandbox(code: Path, layer: Path, backend: Any, name: str, **kw: Any) -> Any:
    from zerolag.emulator import Sandbox

    return Sandbox(
        code=str(code),
        handler="app.handler",
        layers=[str(layer)],
        env=base_env(backend),
        function_name=name,
        **kw,
    )


def _log_bodies(backend: Any) -> list[str]:
    return [str(r.body.string_value) for r in backend.logs()]


def test_a_fast_import_error_gives_an_error_span_and_its_logs_at_cold_start_and_retry(
    tmp_path: Path, layer: Path
) -> None:
    code = write_code(
        tmp_path / "code", "import zerolag_no_such_module_xyz\n\ndef handler(e, c):\n    return 1\n"
    )
    with otlp_backend() as backend:
        with _sandbox(code, layer, backend, "badimport", timeout=10.0) as sb:
            cold = sb.last_init
            retry = sb.invoke({})
            sb.shutdown()
        assert cold is not None
        assert cold.status != "success"
        assert retry.status != "success"

        def init_spans() -> list[Any]:
            return [
                s for s in backend.spans() if s.name == "badimport init" and s.status.code == STATUS_ERROR
            ]

        assert backend.wait_for(lambda: len(init_spans()) >= 2, timeout=60), [s.name for s in backend.spans()]
        # the cold start (phase init) and the suppressed-init retry at the invoke (phase invoke)
        assert sorted(attrs(s)["aws.lambda.init.phase"] for s in init_spans()) == ["init", "invoke"]
        for span in init_spans():
            a = attrs(span)
            assert a["error.type"] == "Runtime.ImportModuleError"
            assert "zerolag_no_such_module_xyz" in span.status.message
        assert any("zerolag_no_such_module_xyz" in body for body in _log_bodies(backend))


def test_a_handler_exception_span_carries_its_type_and_message(tmp_path: Path, layer: Path) -> None:
    code = write_code(
        tmp_path / "code", "def handler(e, c):\n    raise ValueError('the order id is missing')\n"
    )
    with otlp_backend() as backend:
        with _sandbox(code, layer, backend, "raiser", timeout=10.0) as sb:
            result = sb.invoke({})
            sb.shutdown()
        assert result.status == "error"

        def servers() -> list[Any]:
            return [s for s in backend.spans() if attrs(s).get("faas.invocation_id") == result.request_id]

        assert backend.wait_for(lambda: bool(servers()), timeout=60)
        (span,) = servers()
        a = attrs(span)
        assert span.status.code == STATUS_ERROR
        assert a["error.type"] == "ValueError"
        assert span.status.message == "the order id is missing"
        (event,) = [e for e in span.events if e.name == "exception"]
        exc = {kv.key: kv.value.string_value for kv in event.attributes}
        assert exc["exception.type"] == "ValueError"
        assert exc["exception.message"] == "the order id is missing"
