"""MemoryGuard: the sandbox's memory size enforced and its peak measured, with real child processes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from zerolag.emulator.memory import (
    MIB,
    CgroupV1Guard,
    CgroupV2Guard,
    MemoryGuard,
    RssGuard,
    cgroup_mount,
    counter,
    own_cgroup,
    status_kib,
    to_mb,
)

WAIT_S = 60.0
# Waits for "go", writes argv[1] MiB in 4 MiB chunks (paced, so a watcher polling RSS can see the growth),
# reports "done", then waits for stdin to close.
ALLOCATOR = (
    "import sys, time\n"
    "sys.stdin.readline()\n"
    "blocks = []\n"
    "for _ in range(int(sys.argv[1]) // 4):\n"
    "    blocks.append(b'x' * (4 * 1024 * 1024))\n"
    "    time.sleep(0.005)\n"
    "print('done', flush=True)\n"
    "sys.stdin.read()\n"
)


def _cgroup_guard() -> MemoryGuard | None:
    guard = MemoryGuard.create("probe", 128)
    kind = guard.kind
    guard.close()
    return guard if kind != "rss" else None


CGROUP = _cgroup_guard() is not None
MODES = [
    pytest.param("auto", marks=pytest.mark.skipif(not CGROUP, reason="no writable memory cgroup")),
    "rss",
]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_allocator(guard: MemoryGuard, mib: int) -> tuple[subprocess.Popen[str], str]:
    """Start the allocator inside the guard, let it allocate, and return it with its first output line."""
    child = subprocess.Popen(
        [sys.executable, "-c", ALLOCATOR, str(mib)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=guard.enter_self if guard.kind != "rss" else None,
    )
    if guard.kind == "rss":
        guard.add_pid(child.pid)
    assert child.stdin is not None
    assert child.stdout is not None
    child.stdin.write("go\n")
    child.stdin.flush()
    return child, child.stdout.readline()


@pytest.fixture
def guards() -> Iterator[list[MemoryGuard]]:
    made: list[MemoryGuard] = []
    yield made
    for g in made:
        g.close()


def test_peak_of_a_real_process_is_measured(mode: str, guards: list[MemoryGuard]) -> None:
    """A child that writes 100 MiB under a 256 MB limit survives and the peak is at least 100 MB."""
    guard = MemoryGuard.create("peak-test", 256, prefer=mode)
    guards.append(guard)
    guard.reset_peak()
    child, line = run_allocator(guard, 100)
    try:
        assert line.strip() == "done"
        assert 100 <= guard.max_used_mb() <= 256
        assert not guard.oom_killed()
    finally:
        child.kill()
        child.wait(WAIT_S)


def test_over_the_limit_the_process_is_killed(mode: str, guards: list[MemoryGuard]) -> None:
    """A child writing 512 MiB under a 64 MB limit is SIGKILLed and oom_killed() turns True."""
    guard = MemoryGuard.create("oom-test", 64, prefer=mode)
    guards.append(guard)
    guard.reset_peak()
    child, line = run_allocator(guard, 512)
    try:
        assert line == ""
        assert child.wait(WAIT_S) == -9
        assert guard.oom_killed()
    finally:
        child.kill()
        child.wait(WAIT_S)


def test_reset_peak_clears_the_oom_flag(mode: str, guards: list[MemoryGuard]) -> None:
    """After an OOM kill, reset_peak starts a clean period: oom_killed() is False again."""
    guard = MemoryGuard.create("reset-test", 64, prefer=mode)
    guards.append(guard)
    guard.reset_peak()
    child, _ = run_allocator(guard, 512)
    child.wait(WAIT_S)
    assert guard.oom_killed()
    guard.reset_peak()
    assert not guard.oom_killed()


@pytest.mark.skipif(not CGROUP, reason="no writable memory cgroup")
def test_cgroup_directory_is_removed_on_close() -> None:
    """close() removes the sandbox's cgroup directory, and a second close() is harmless."""
    guard = MemoryGuard.create("close-test", 128)
    assert isinstance(guard, CgroupV1Guard | CgroupV2Guard)
    assert guard.path.is_dir()
    assert (guard.path / ("memory.limit_in_bytes" if guard.kind == "cgroup-v1" else "memory.max")).read_text()
    guard.close()
    guard.close()
    assert not guard.path.exists()


def test_rss_guard_close_is_idempotent() -> None:
    """The RSS watcher stops on close(), and closing twice is harmless."""
    guard = MemoryGuard.create("rss-close", 128, prefer="rss")
    assert isinstance(guard, RssGuard)
    guard.close()
    guard.close()
    assert not guard._thread.is_alive()


def test_mb_rounds_up() -> None:
    """Memory is reported in whole MB, rounded up as Lambda does."""
    assert (to_mb(0), to_mb(1), to_mb(MIB), to_mb(MIB + 1)) == (0, 1, 1, 2)


def test_proc_and_cgroup_files_are_parsed() -> None:
    """VmRSS/VmHWM, oom_kill counters, /proc/self/cgroup and /proc/mounts lines are read correctly."""
    status = "Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"
    assert (status_kib(status, "VmRSS"), status_kib(status, "VmHWM"), status_kib(status, "VmSwap")) == (
        1024,
        2048,
        0,
    )
    assert counter("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill") == 3
    proc_cgroup = "6:freezer:/\n4:memory:/a/b\n0::/u\n"
    assert own_cgroup(proc_cgroup, "memory") == "/a/b"
    assert own_cgroup(proc_cgroup, None) == "/u"
    assert own_cgroup("0::/\n", "memory") is None
    mounts = "cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0\ncgroup2 /u cgroup2 rw 0 0\n"
    assert str(cgroup_mount(mounts, "cgroup", "memory")) == "/sys/fs/cgroup/memory"
    assert str(cgroup_mount(mounts, "cgroup2", None)) == "/u"
    assert cgroup_mount(mounts, "cgroup", "freezer") is None


def test_memory_allocated_before_joining_is_still_measured(mode: str, guards: list[MemoryGuard]) -> None:
    """A process added with add_pid after it wrote 60 MiB is reported with at least 60 MB."""
    guard = MemoryGuard.create("late-join", 256, prefer=mode)
    guards.append(guard)
    child = subprocess.Popen(
        [sys.executable, "-c", ALLOCATOR, "60"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdin is not None
        assert child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "done"
        guard.add_pid(child.pid)
        guard.reset_peak()
        assert guard.max_used_mb() >= 60
    finally:
        child.kill()
        child.wait(WAIT_S)


@pytest.mark.skipif(not CGROUP, reason="no writable memory cgroup")
def test_join_fd_puts_a_child_in_the_cgroup_before_exec(guards: list[MemoryGuard]) -> None:
    """A child that writes its pid to join_fd() before exec is a member of the sandbox's cgroup."""
    import os

    guard = MemoryGuard.create("join-fd", 128)
    guards.append(guard)
    fd = guard.join_fd()
    assert fd is not None
    assert guard.join_fd() == fd
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        pass_fds=(fd,),
        preexec_fn=lambda: os.write(fd, str(os.getpid()).encode()) and None,
    )
    try:
        assert isinstance(guard, CgroupV1Guard | CgroupV2Guard)
        assert str(child.pid) in (guard.path / "cgroup.procs").read_text().split()
    finally:
        child.kill()
        child.wait(WAIT_S)


def test_rss_guard_has_no_join_fd() -> None:
    """Without a cgroup there is nothing to join before exec: join_fd() is None."""
    guard = MemoryGuard.create("rss-join", 128, prefer="rss")
    try:
        assert guard.join_fd() is None
    finally:
        guard.close()


def test_rss_watcher_covers_descendants(guards: list[MemoryGuard]) -> None:
    """The RSS watcher follows a process's children: a grandchild over the limit gets the tree killed."""
    guard = MemoryGuard.create("rss-tree", 64, prefer="rss")
    guards.append(guard)
    script = f'{sys.executable} -c "$0" 512 </dev/stdin; echo exited'
    parent = subprocess.Popen(
        ["/bin/sh", "-c", script, ALLOCATOR], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    guard.add_pid(parent.pid)
    try:
        assert parent.stdin is not None
        assert parent.stdout is not None
        parent.stdin.write("go\n")
        parent.stdin.flush()
        assert "done" not in parent.stdout.read()
        assert guard.oom_killed()
    finally:
        parent.kill()
        parent.wait(WAIT_S)


@pytest.mark.skipif(not CGROUP, reason="no writable memory cgroup")
def test_guards_never_share_a_cgroup(guards: list[MemoryGuard]) -> None:
    """Two guards created with the same sandbox id get their own directories; closing one keeps the other."""
    first = MemoryGuard.create("same-id", 128)
    second = MemoryGuard.create("same-id", 128)
    guards.extend([first, second])
    assert isinstance(first, CgroupV1Guard | CgroupV2Guard)
    assert isinstance(second, CgroupV1Guard | CgroupV2Guard)
    assert first.path != second.path
    first.close()
    assert second.path.is_dir()
