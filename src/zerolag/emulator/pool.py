"""Sandboxes of one function, scaled the way Lambda scales them (docs/emulator.md, "Concurrency").

A request goes to an idle sandbox or cold-starts a new one; with ``limit`` sandboxes busy it is throttled
(:class:`Throttled`, Lambda's 429 ``TooManyRequestsException``). A sandbox is busy from the moment it takes a
request until its post-runtime phase ended, not only until the caller got the response. Without a limit the
pool keeps one sandbox and requests wait their turn (what the RIE does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from zerolag.emulator.result import PendingInvoke
from zerolag.emulator.sandbox import Sandbox


class Throttled(Exception):
    """Every sandbox the concurrency limit allows is busy."""


class Pool:
    """Up to ``limit`` sandboxes made by ``factory`` (``limit=None``: one sandbox, requests queue)."""

    def __init__(self, factory: Callable[[], Sandbox], limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self._factory = factory
        self.limit = limit
        self._cond = threading.Condition()
        self._idle: list[
            Sandbox
        ] = []  # most recently used last: reused first, as Lambda keeps warm ones busy
        self._all: list[Sandbox] = []
        self._starting = 0
        self._closed = False
        self.cold_starts = 0

    def start(self) -> Sandbox:
        """Start the first sandbox now (init runs before the first request, as the CLI always did)."""
        sb = self._factory()
        sb.start()
        with self._cond:
            self._all.append(sb)
            self._idle.append(sb)
            self.cold_starts += 1
        return sb

    def adopt(self, sb: Sandbox) -> None:
        """Add a sandbox the caller started (and will shut down) as an idle one."""
        with self._cond:
            self._all.append(sb)
            self._idle.append(sb)

    @property
    def sandboxes(self) -> list[Sandbox]:
        with self._cond:
            return list(self._all)

    def submit(self, payload: Any, *, client_context: Mapping[str, Any] | None = None) -> PendingInvoke:
        """Run one invocation on an idle or a new sandbox; return once its response is known.

        Raises :class:`Throttled` when the limit is reached, ``RuntimeError`` once the pool is closed.
        """
        sb = self._take(wait=False)
        return self._run(sb, payload, client_context)

    def submit_waiting(self, payload: Any, *, request_id: str | None = None) -> PendingInvoke:
        """Like :meth:`submit`, but wait for a free sandbox instead of being throttled (async invocations:
        Lambda keeps a throttled event queued and retries it); ``request_id`` is the id the caller got."""
        sb = self._take(wait=True)
        return self._run(sb, payload, None, request_id)

    def _run(
        self,
        sb: Sandbox,
        payload: Any,
        client_context: Mapping[str, Any] | None,
        request_id: str | None = None,
    ) -> PendingInvoke:
        try:
            pending = sb.submit(payload, client_context=client_context, request_id=request_id)
        except BaseException:
            self._give_back(sb)
            raise
        pending.add_done_callback(lambda: self._give_back(sb))
        return pending

    def _take(self, *, wait: bool) -> Sandbox:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("the function is shutting down")
                if self._idle:
                    return self._idle.pop()
                capacity = 1 if self.limit is None else self.limit
                if len(self._all) + self._starting < capacity:
                    self._starting += 1
                    break
                if not wait and self.limit is not None:
                    raise Throttled
                self._cond.wait()
        return self._cold_start()

    def _cold_start(self) -> Sandbox:
        try:
            sb = self._factory()
            sb.start()
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            self._starting -= 1
            self._all.append(sb)
            self.cold_starts += 1
            if self._closed:
                self._cond.notify_all()
        return sb

    def _give_back(self, sb: Sandbox) -> None:
        with self._cond:
            if not self._closed:
                self._idle.append(sb)
            self._cond.notify_all()

    def close(self) -> None:
        """Shut every sandbox down (SHUTDOWN spindown), waiting for invocations in progress."""
        with self._cond:
            self._closed = True
            sandboxes = list(self._all)
            self._cond.notify_all()
        for sb in sandboxes:
            sb.shutdown()
