"""The Extensions API client: its copied wire constants match lambda_wire, and it registers, reads events and
reports errors against the emulator's real Extensions API server."""

from __future__ import annotations

from zerolag import lambda_wire as wire
from zerolag.extension import extapi


def test_copied_constants_equal_the_wire_types() -> None:
    """extapi's pre-registration copies of the paths and headers are exactly lambda_wire's."""
    assert extapi.EXTENSION_REGISTER == wire.EXTENSION_REGISTER
    assert extapi.EXTENSION_NEXT == wire.EXTENSION_NEXT
    assert extapi.EXTENSION_INIT_ERROR == wire.EXTENSION_INIT_ERROR
    assert extapi.EXTENSION_EXIT_ERROR == wire.EXTENSION_EXIT_ERROR
    assert extapi.H_EXTENSION_NAME == wire.H_EXTENSION_NAME
    assert extapi.H_EXTENSION_ID == wire.H_EXTENSION_ID
    assert extapi.H_EXTENSION_ERROR_TYPE == wire.H_EXTENSION_ERROR_TYPE


def test_cold_start_path_imports_neither_typing_nor_lambda_wire() -> None:
    """Start-up up to registration imports no typing, re or lambda_wire (they cost ~10 ms)."""
    import subprocess
    import sys

    code = (
        "import sys; import zerolag.extension.__main__ as m; "
        "heavy = ('typing', 're', 'zerolag.lambda_wire', 'json', 'threading', 'encodings.idna', 'socket',"
        " 'enum'); "
        "print(sorted(n for n in heavy if n in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(__import__("pathlib").Path(extapi.__file__).parents[2])},
    )
    assert out.stdout.strip() == "[]"


def test_the_early_telemetry_subscription_constants_equal_the_plugins() -> None:
    """The subscription made right after registering asks for what the telemetry plugin would ask."""
    import json

    from zerolag.extension.telemetry import subscription

    assert extapi.TELEMETRY_SUBSCRIBE == wire.TELEMETRY_SUBSCRIBE
    assert extapi.TELEMETRY_SCHEMAS == wire.TELEMETRY_SCHEMAS
    assert extapi.TELEMETRY_TYPES == subscription.TYPES
    assert json.loads(extapi.TELEMETRY_BUFFERING) == subscription.BUFFERING
