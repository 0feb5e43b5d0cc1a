"""The Thundra receiver: routes, immediate answers, forwarding to the pipeline, bad bodies counted."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import pytest

from zerolag.extension.thundra.server import ThundraReceiver

DATA = Path(__file__).parent / "data"
RID = "11111111-2222-3333-4444-555555555555"


class Recorder:
    def __init__(self) -> None:
        self.submitted: list[tuple[str, bytes, int, str | None]] = []
        self.counts: Counter[str] = Counter()
        self.agent: list[tuple[str, str, bool]] = []
        self.invocations: list[str] = []

    def receiver(self) -> ThundraReceiver:
        return ThundraReceiver(
            submit=lambda s, d, n, r: self.submitted.append((s, d, n, r)),
            count=lambda name, n: self.counts.update({name: n}),
            resource={"cloud.provider": "aws"},
            note_agent=lambda rid, s, d, final: self.agent.append((rid, s, final)),
            on_invocation=self.invocations.append,
        )


@pytest.mark.parametrize(
    ("path", "sample"),
    [
        ("/v1/composite-monitoring-data", "composite-monitoring-data-2.7.4.json"),
        ("/v1/monitoring-data", "monitoring-data-3.0.10.json"),
    ],
)
def test_both_paths_forward_all_three_signals_tagged_with_the_request_id(path: str, sample: str) -> None:
    """A sample POST answers 200 and submits traces, metrics and logs under the invocation's request id."""
    rec = Recorder()
    status, _ = rec.receiver().handle("POST", path, (DATA / sample).read_bytes())
    assert status == 200
    assert sorted(s for s, *_ in rec.submitted) == ["logs", "metrics", "traces"]
    assert all(r == RID for *_, r in rec.submitted)
    assert dict((s, n) for s, _, n, _ in rec.submitted)["traces"] == 1
    assert sorted(rec.agent) == [(RID, "logs", True), (RID, "metrics", True), (RID, "traces", True)]
    assert rec.invocations == [RID]
    assert rec.counts["thundra_requests"] == 1


@pytest.mark.parametrize("body", [b"", b"{oops", b"[1, 2]", b'{"type": "Composite"}', b"\x00\xff"])
def test_malformed_bodies_are_answered_400_counted_and_logged_without_content(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad bodies never raise: 400, counter bumped, a warning that does not echo the body."""
    rec = Recorder()
    body = body.replace(b"oops", b"oops apiKey=secret-key-xyz")
    with caplog.at_level(logging.WARNING):
        status, _ = rec.receiver().handle("POST", "/v1/monitoring-data", body)
    if body == b"[1, 2]":
        assert status == 200  # a valid array with nothing usable in it
        assert rec.submitted == []
        return
    assert status == 400
    assert rec.counts["thundra_bad_bodies"] == 1
    assert rec.submitted == []
    assert "secret-key-xyz" not in caplog.text
    assert "rejected" in caplog.text


def test_unknown_path_and_method() -> None:
    """Other paths are 404, other methods 405, nothing is forwarded."""
    rec = Recorder()
    receiver = rec.receiver()
    assert receiver.handle("POST", "/v2/whatever", b"[]")[0] == 404
    assert receiver.handle("GET", "/v1/monitoring-data", b"")[0] == 405
    assert rec.submitted == []


def test_bad_records_are_dropped_one_by_one_and_the_rest_of_the_post_kept() -> None:
    """Timestamps 1e30, -1 and 1e300, tags nested 100 deep: those records are counted, the POST is 200 and
    the valid log record is submitted; never a 500."""
    import json

    deep: dict[str, object] = {"leaf": 1}
    for _ in range(100):
        deep = {"nested": deep}

    def log(message: str, stamp: object, **extra: object) -> dict[str, object]:
        return {"data": {"type": "Log", "logMessage": message, "logTimestamp": stamp, **extra}}

    body = json.dumps(
        [
            log("good", 1700000000000),
            log("huge", 1e30),
            log("negative", -1),
            {"data": {"type": "Span", "id": "d", "startTimestamp": 1, "finishTimestamp": 2, "tags": deep}},
            {"data": {"type": "Span", "id": "s", "startTimestamp": 1e300, "finishTimestamp": 1}},
        ]
    ).encode()
    rec = Recorder()
    status, _ = rec.receiver().handle("POST", "/v1/monitoring-data", body)
    assert status == 200
    assert rec.counts["thundra_invalid_records"] == 4
    [(signal, _data, items, _rid)] = rec.submitted
    assert (signal, items) == ("logs", 1)
