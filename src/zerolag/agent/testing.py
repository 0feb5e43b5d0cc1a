"""Helpers for testing your own instrumented handlers: an in-memory exporter and a fake Lambda context.

::

    from zerolag.agent import testing

    def test_my_handler():
        with testing.capture() as cap:
            handler({"x": 1}, testing.FakeContext())
        assert [s.name for s in cap.spans] == ["validate", "my-function"]
"""

from __future__ import annotations

from zerolag.agent import export, runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from zerolag.agent.spans import Span


class FakeContext:
    """The attributes of awslambdaric's LambdaContext that the agent reads."""

    def __init__(
        self,
        request_id: str = "00000000-0000-0000-0000-000000000000",
        function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test",
        remaining_ms: int = 30_000,
    ) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.client_context = None
        self.identity = None
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self._remaining_ms


class MemoryExporter(export.Exporter):
    """Keeps every exported invocation in memory (synchronous, on the caller's thread)."""

    def __init__(self, base: export.Exporter) -> None:
        super().__init__(base.resource, base.redactor, base.version)
        self.jobs: list[tuple[str, list[Span], list[tuple[Any, ...]]]] = []
        self.metric_items: list[Any] = []

    def send(self, job: export.Job, wait: bool = True) -> None:
        self.jobs.append(job)
        items, _, _ = self.take_metrics()
        self.metric_items.extend(items)

    @property
    def spans(self) -> list[Span]:
        return [s for job in self.jobs for s in job[1]]

    @property
    def logs(self) -> list[tuple[Any, ...]]:
        return [rec for job in self.jobs for rec in job[2]]


class capture:
    """Route the agent's output to a ``MemoryExporter`` for the duration of the block."""

    def __init__(self) -> None:
        agent = runtime.get()
        if agent is None:
            raise RuntimeError("the zerolag agent is disabled (ZEROLAG_ENABLED=false)")
        self.agent = agent
        self.exporter = MemoryExporter(agent.exporter)
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> MemoryExporter:
        self._saved = (self.agent.exporter, self.agent._worker)
        self.agent.exporter = self.exporter
        self.agent._worker = None
        return self.exporter

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._saved is not None
        self.agent.exporter, self.agent._worker = self._saved
