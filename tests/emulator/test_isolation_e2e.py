"""The sandbox as Lambda's, seen from inside by a real function (issue 11, item 2): an unprivileged user,
read-only ``/var/task`` and ``/opt``, a writable ``/tmp`` capped by the ephemeral storage, a PID namespace
that hides and protects everything outside, and resets that end every process, even a ``setsid()`` child."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zerolag.emulator import Sandbox
from zerolag.emulator.layout import namespaces_available

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not namespaces_available(), reason="needs root and unshare: no isolation without"),
]

PROBE = r'''
import errno, json, os, pwd, signal, subprocess, time

def attempt(fn):
    try:
        fn()
        return "allowed"
    except OSError as exc:
        return errno.errorcode.get(exc.errno, str(exc.errno))

def write(path):
    with open(path, "w") as f:
        f.write("x")

def fill_tmp():
    with open("/tmp/fill", "wb") as f:
        chunk = b"\0" * (1 << 20)
        for _ in range(64):
            f.write(chunk)
            f.flush()
            os.fsync(f.fileno())

def probe(event, context):
    remount = subprocess.run(["mount", "-o", "remount,rw", "/opt"], capture_output=True)
    host_pid = int(os.environ["EMULATOR_PID"])
    tmp = os.statvfs("/tmp")
    result = {
        "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(), "groups": os.getgroups(),
        "user": pwd.getpwuid(os.getuid()).pw_name,
        "remount_opt_rc": remount.returncode,
        "write_opt": attempt(lambda: write("/opt/new")),
        "write_task": attempt(lambda: write("/var/task/new")),
        "write_tmp": attempt(lambda: write("/tmp/ok")),
        "kill_init": attempt(lambda: os.kill(1, signal.SIGKILL)),
        "kill_host": attempt(lambda: os.kill(host_pid, 0)),
        "proc_1_root": attempt(lambda: os.listdir("/proc/1/root")),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "tmp_mb": tmp.f_blocks * tmp.f_frsize / 1e6,
        "fill_tmp": attempt(fill_tmp),
        "root": sorted(os.listdir("/")),
        "tmp_fs": [l.split()[2] for l in open("/proc/self/mounts") if l.split()[1] == "/tmp"],
        "tmp_entries": os.listdir("/tmp"),
        "sees_host_file": os.path.exists(os.environ["HOST_FILE"]),
        "mounts": {f[1]: f[3].split(",") for f in (l.split() for l in open("/proc/self/mounts"))},
    }
    os.unlink("/tmp/fill")
    return result

def big_tmp(event, context):
    """More than the function's memory into /tmp: a disk on Lambda, so no OOM."""
    chunk = b"\1" * (1 << 20)
    with open("/tmp/big", "wb") as f:
        for _ in range(event["mb"]):
            f.write(chunk)
    size = os.path.getsize("/tmp/big")
    os.unlink("/tmp/big")
    return size

def daemon(event, context):
    """A child that leaves the runtime's session, then the runtime dies: a reset."""
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        os.write(w, b"up")
        while True:
            time.sleep(60)
    os.read(r, 2)
    os._exit(3)
'''


@pytest.fixture
def code(tmp_path: Path) -> Path:
    path = tmp_path / "code"
    path.mkdir()
    (path / "app.py").write_text(PROBE)
    return path


def test_the_function_runs_unprivileged_and_sees_only_the_sandbox(code: Path) -> None:
    env = {"EMULATOR_PID": str(os.getpid()), "HOST_FILE": __file__}
    with Sandbox(code=code, handler="app.probe", env=env, timeout=30, ephemeral_storage_mb=16) as sb:
        result = sb.invoke({})
        assert result.status == "success", result.body
        seen = result.json()
        assert sb.layout.tmp.joinpath("ok").read_text() == "x"  # the host reaches the sandbox's /tmp
    assert (seen["uid"], seen["euid"], seen["gid"], seen["groups"]) == (993, 993, 990, [])
    assert seen["user"] == "sbx_user1051"
    assert seen["remount_opt_rc"] != 0
    assert seen["write_opt"] in {"EROFS", "EACCES"}
    assert seen["write_task"] in {"EROFS", "EACCES"}
    assert seen["write_tmp"] == "allowed"
    for path in ("/opt", "/var/task", "/var/runtime", "/var/lang"):
        assert {"ro", "nosuid", "nodev"} <= set(seen["mounts"][path]), path
    assert "rw" in seen["mounts"]["/tmp"]
    assert seen["kill_init"] == "EPERM"
    assert seen["kill_host"] == "ESRCH"
    assert seen["proc_1_root"] == "EACCES"
    assert 1 in seen["pids"]
    assert os.getpid() not in seen["pids"]
    assert len(seen["pids"]) <= 4  # init, the runtime and the mount probe's leftovers at most
    assert 14 <= seen["tmp_mb"] <= 17  # a file system's own overhead comes off the 16 MB
    assert seen["tmp_fs"] == ["ext4"]  # a disk, as Lambda's: not memory
    assert "lost+found" not in seen["tmp_entries"]  # empty but for what the probe wrote, as on Lambda
    assert seen["fill_tmp"] == "ENOSPC"
    assert not seen["sees_host_file"]  # a minimal root: the host's files outside the OS dirs do not exist
    assert {"var", "opt", "tmp", "proc", "usr", "etc"} <= set(seen["root"])
    assert not {"home", "root", "work", "srv"} & set(seen["root"])


def _sandbox_processes(sb: Sandbox) -> list[int]:
    """Host pids of every process in the sandbox's PID namespace except its init."""
    ns_path = sb.layout.pidns_path()
    assert ns_path is not None
    ns = os.stat(ns_path)
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            st = os.stat(f"/proc/{name}/ns/pid")
            status = Path(f"/proc/{name}/status").read_text()
        except OSError:
            continue
        nspid = next((line.split()[-1] for line in status.splitlines() if line.startswith("NSpid:")), "")
        if (st.st_dev, st.st_ino) == (ns.st_dev, ns.st_ino) and nspid != "1":
            found.append(int(name))
    return found


@pytest.mark.parametrize("freeze", [True, False, "signal"])
def test_a_reset_ends_a_child_that_called_setsid(code: Path, freeze: bool | str) -> None:
    """The cgroup (frozen or not) or, with SIGSTOP freezing and so no cgroup, the PID namespace: either way
    nothing of the sandbox is left after the reset."""
    with Sandbox(code=code, handler="app.daemon", timeout=30, freeze=freeze) as sb:
        crashed = sb.invoke({})
        assert crashed.status == "failure", crashed.body
        assert crashed.error_type == "Runtime.ExitError"
        assert _sandbox_processes(sb) == []


def test_tmp_is_a_disk_not_memory(code: Path) -> None:
    """200 MB into /tmp from a 128 MB function succeeds (a tmpfs would be charged to the memory limit)."""
    with Sandbox(code=code, handler="app.big_tmp", memory_mb=128, timeout=60) as sb:
        if not sb.layout.tmp_disk:
            pytest.skip("no loop devices or mkfs.ext4: /tmp is a tmpfs here (documented)")
        result = sb.invoke({"mb": 200})
    assert result.status == "success", result.body
    assert result.json() == 200 * (1 << 20)
