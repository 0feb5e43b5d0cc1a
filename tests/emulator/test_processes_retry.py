"""Pre-exec steps (joining the freezer cgroup, entering the namespace) ride out transient kernel answers."""

from __future__ import annotations

import errno

import pytest

from zerolag.emulator import processes


def test_a_transient_error_is_retried_until_the_step_succeeds() -> None:
    """EBUSY/EINTR twice, then success: the step runs three times and no error escapes."""
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        if len(calls) < 3:
            raise OSError(errno.EBUSY if len(calls) == 1 else errno.EINTR, "busy")

    processes._retry(step)
    assert len(calls) == 3


def test_a_lasting_error_is_raised_after_the_bound() -> None:
    """A step that never succeeds fails after PREEXEC_TRIES attempts, with the kernel's error."""
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise OSError(errno.EAGAIN, "again")

    with pytest.raises(OSError) as info:
        processes._retry(step)
    assert info.value.errno == errno.EAGAIN
    assert len(calls) == processes.PREEXEC_TRIES


def test_a_permanent_error_is_not_retried() -> None:
    """EPERM is no transient answer: raised at once."""
    calls: list[int] = []

    def step() -> None:
        calls.append(1)
        raise OSError(errno.EPERM, "no")

    with pytest.raises(OSError):
        processes._retry(step)
    assert calls == [1]
