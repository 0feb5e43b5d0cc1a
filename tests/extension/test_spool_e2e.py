"""End to end in the emulator: a spool directory holding junk (a directory and a dangling symlink named like
entries, an empty file claiming 999,999 items, a garbled file, a partial .tmp) next to one valid entry. The
extension starts, serves every invocation, resends the valid entry, counts the rest, and reports items
from the content (before: init crashed on the directory, and the empty file counted 999,999 as sent)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_backend import Backend
from ext_sandbox import FUNCTIONS, OTEL_LAYER, extension_env, extension_lines, layer_dir
from test_spool import junk_spool

from zerolag.emulator import Sandbox
from zerolag.emulator.layout import SANDBOX_GID, SANDBOX_UID

pytestmark = pytest.mark.e2e


@pytest.fixture
def backend() -> Iterator[Backend]:
    b = Backend()
    yield b
    b.close()


def own_as_the_function(directory: Path) -> None:
    """On Lambda everything in /tmp was written by the sandbox's user: give the planted junk to it (the test
    runs as root, the extension as that user, which could not remove a root-owned partial file)."""
    if os.geteuid() != 0:
        return
    for path in [directory, *directory.iterdir()]:
        os.lchown(path, SANDBOX_UID, SANDBOX_GID)


def test_a_spool_full_of_junk_is_skipped_counted_and_never_fatal(backend: Backend, tmp_path: Path) -> None:
    """The junk is planted in the sandbox's /tmp; a timeout resets the sandbox, and the restarted extension
    finds it at start (as after any reset in Lambda, where /tmp survives)."""
    env = extension_env(backend, tmp_path, ZEROLAG_FLUSH="end", ZEROLAG_SPOOL_DIR="/tmp/zl-spool")
    with Sandbox(
        code=FUNCTIONS / "otel_py",
        handler="app.handler",
        layers=[layer_dir(), OTEL_LAYER],
        env=env,
        timeout=2.0,
    ) as sb:
        assert sb.invoke({"name": "junk-0"}).status == "success"
        junk_spool(sb.layout.tmp / "zl-spool")
        own_as_the_function(sb.layout.tmp / "zl-spool")
        assert sb.invoke({"name": "junk-timeout", "after_sleep": 5}).status == "timeout"
        results = [sb.invoke({"name": f"junk-{i}"}) for i in (1, 2)]
        assert not (sb.layout.tmp / "zl-spool" / "000000000005.traces.1.pb.tmp").exists()
        sb.shutdown()
    assert [r.status for r in results] == ["success"] * 2
    counts = backend.span_name_counts()
    assert counts["valid"] == 1
    assert all(counts[f"junk-{i}"] == 1 for i in range(3))
    summary = extension_lines(sb.logs, "shutdown")[-1]  # the restarted extension's
    assert summary["spool_skipped"] == 2
    assert summary["spool_corrupt"] == 2
    assert summary["unspooled"] == 1
    assert summary["sent"] < 1000
