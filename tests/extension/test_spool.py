"""The spool's file layer against a directory it cannot trust: junk is skipped and counted, never fatal;
item counts come from the content; a failed write leaves no partial file (a real write failure: a file size
limit set with setrlimit in a child process)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from zerolag.extension.spool import Spool
from zerolag.otlp import protobuf


def one_span(name: str) -> bytes:
    span = {"traceId": "01" * 16, "spanId": "02" * 8, "name": name}
    return protobuf.encode("traces", {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]})


def junk_spool(directory: Path) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "000000000001.traces.5.pb").mkdir()
    (directory / "000000000002.logs.3.pb").symlink_to("/nonexistent/zerolag")
    (directory / "000000000003.traces.999999.pb").write_bytes(b"")
    (directory / "000000000004.traces.7.pb").write_bytes(b"\xff\xff\xff\xff")
    (directory / "000000000005.traces.1.pb.tmp").write_bytes(b"partial")
    (directory / "000000000006.traces.999.pb").write_bytes(one_span("valid"))
    (directory / "notes.txt").write_text("not ours")


def test_recovery_and_take_skip_and_count_everything_unexpected(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    junk_spool(directory)
    counts: Counter[str] = Counter()
    spool = Spool(str(directory), 1 << 20, count=lambda name, n: counts.update({name: n}))
    assert spool.recover() == 2  # the garbled file and the valid one; the rest never enters the index
    assert counts == {"spool_skipped": 2, "spool_corrupt": 1}
    assert not (directory / "000000000005.traces.1.pb.tmp").exists()
    taken = spool.take()
    assert taken is not None
    entry, data = taken
    assert entry.items == 1  # from the content, not the 999 of the name
    assert protobuf.decode("traces", data)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"] == "valid"
    assert spool.take() is None
    assert counts == {"spool_skipped": 2, "spool_corrupt": 2}
    # new entries never collide with the names junk still holds
    assert spool.put("traces", one_span("new"), 1) == (True, 0)
    again = spool.take()
    assert again is not None
    assert again[0].seq > 6


def test_an_unlistable_spool_directory_is_an_empty_spool(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    counts: Counter[str] = Counter()
    spool = Spool(str(not_a_dir), 1 << 20, count=lambda name, n: counts.update({name: n}))
    assert spool.recover() == 0
    assert counts["spool_skipped"] == 1
    try:
        spool.put("traces", one_span("x"), 1)
    except OSError:
        pass
    else:
        raise AssertionError("a spool that is a file cannot store")
    assert spool.take() is None


CHILD = """
import os, resource, signal, sys
from zerolag.extension.spool import Spool
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
spool = Spool(sys.argv[1], 1 << 30)
failures = 0
for i in range(25):
    try:
        spool.put("traces", b"\\x0a" * 100_000, 1)
    except OSError:
        failures += 1
print(failures, len(spool.index))
"""


def test_a_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    """25 writes that all fail halfway (file size limit): no .tmp file and no entry remains."""
    directory = tmp_path / "spool"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(directory)], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["25", "0"]
    assert os.listdir(directory) == []
