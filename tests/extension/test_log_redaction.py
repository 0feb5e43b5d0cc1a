"""The extension's log lines never hold a header value, in any form, even from an uncaught exception."""

from __future__ import annotations

import base64
import subprocess
import sys

from zerolag.extension.log import JsonFormatter, secret_forms


def test_every_form_of_a_header_value_is_masked() -> None:
    basic = "Basic " + base64.b64encode(b"alice:hunter2pass").decode()
    formatter = JsonFormatter(("Bearer zl_live_abc123", basic))
    text = formatter.redact(
        "key zl_live_abc123 in 'Bearer zl_live_abc123', basic "
        + basic
        + " user alice:hunter2pass pw hunter2pass"
    )
    for form in ("zl_live_abc123", "hunter2pass", "alice:hunter2pass", basic):
        assert form not in text
    assert "Bearer zl_live_abc123" in secret_forms(("Bearer zl_live_abc123",))


CHILD = """
import sys, threading
from zerolag.extension.log import setup
setup("info", secrets=("Bearer zl_live_abc123",))
def die():
    raise ValueError("header line b'Authorization: Bearer zl_live_abc123'")
t = threading.Thread(target=die, name="zerolag-sender-2")
t.start(); t.join()
raise RuntimeError("main thread with zl_live_abc123")
"""


def test_an_uncaught_exception_in_any_thread_is_logged_masked() -> None:
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert "zerolag-sender-2" in out.stderr
    assert "ValueError" in out.stderr
    assert "RuntimeError" in out.stderr
    assert "zl_live_abc123" not in out.stderr + out.stdout
