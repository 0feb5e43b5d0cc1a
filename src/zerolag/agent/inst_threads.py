"""Context across threads: spans started in ``threading.Thread`` targets and ``concurrent.futures`` workers
parent to the span that was current where the thread was started or the task submitted.

``contextvars`` do not follow work into another thread, so without this a span started in a worker would
begin a new trace. Two patches carry the agent's current span (and only it: the user's own context variables
keep their usual per-thread behaviour):

- ``Thread.start`` wraps the thread's ``run`` so that it runs under the span current at ``start()``;
- ``ThreadPoolExecutor.submit`` (which ``map`` and asyncio's ``run_in_executor`` use) wraps the task so that
  it runs under the span current at ``submit()``.

A thread that carries no span (a pool created during Init, a thread started outside any span) falls back to
the invocation running now (``spans.invocation_span``). The cost is per ``start()``/``submit()``, never per
span.
"""

from __future__ import annotations

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

_current = spans._current


def _run_under(parent: spans.Span, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    token = _current.set(parent)
    try:
        return fn(*args, **kwargs)
    finally:
        try:
            _current.reset(token)
        except ValueError:  # the task switched contexts itself
            _current.set(None)


def patch_threading(module: ModuleType) -> None:
    thread_cls = module.Thread
    original = thread_cls.start
    if getattr(original, "__zerolag_wrapped__", False):
        return

    def start(self: Any) -> None:
        try:
            parent = spans.current_span()
            if parent is not None:
                run = self.run
                self.run = lambda: _run_under(parent, run)
        except Exception:  # noqa: S110 - never stand between the user and their thread
            pass
        original(self)

    spans.wraps(original, start)
    start.__zerolag_wrapped__ = True  # type: ignore[attr-defined]
    thread_cls.start = start


def patch_executor(module: ModuleType) -> None:
    pool_cls = module.ThreadPoolExecutor
    original = pool_cls.submit
    if getattr(original, "__zerolag_wrapped__", False):
        return

    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        parent = spans.current_span()
        if parent is None:
            return original(self, fn, *args, **kwargs)
        return original(self, _run_under, parent, fn, *args, **kwargs)

    spans.wraps(original, submit)
    submit.__zerolag_wrapped__ = True  # type: ignore[attr-defined]
    pool_cls.submit = submit
