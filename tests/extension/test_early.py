"""The early receiver's sink: what arrives before the pipeline exists is handed over in order."""

from __future__ import annotations

from typing import Any

from zerolag.extension.early import EarlySink, max_request_bytes


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def submit(self, signal: str, data: bytes, items: int, request_id: str | None = None) -> None:
        self.calls.append(("submit", signal, data, items, request_id))

    def runtime_done(self, request_id: str) -> None:
        self.calls.append(("done", request_id))

    def count(self, name: str, n: int = 1) -> None:
        self.calls.append(("count", name, n))


def test_calls_before_attach_are_replayed_in_order_then_forwarded() -> None:
    """Submissions, end signals and counts held before attach reach the pipeline in order; later ones go
    straight through."""
    sink, target = EarlySink(), Recorder()
    sink.submit("traces", b"a", 1, "r1")
    sink.count("rejected")
    sink.runtime_done("r1")
    assert target.calls == []
    assert sink.attach(target) == 3
    sink.submit("logs", b"b", 2)
    assert target.calls == [
        ("submit", "traces", b"a", 1, "r1"),
        ("count", "rejected", 1),
        ("done", "r1"),
        ("submit", "logs", b"b", 2, None),
    ]


def test_max_request_bytes_falls_back_to_the_default_on_bad_values() -> None:
    """The early receiver reads its body limit leniently (the full config reports bad values later)."""
    assert max_request_bytes({"ZEROLAG_MAX_REQUEST_BYTES": "2048"}) == 2048
    assert max_request_bytes({"ZEROLAG_MAX_REQUEST_BYTES": "lots"}) == 16 * 1024 * 1024
