"""The fault-injection suite (issue 10): 500+ invocations in the emulator (layer + real awslambdaric) against
a scripted backend that plays, in turn, 503 bursts, 429 with Retry-After, connection resets mid-body, slow
answers, hangs, a request refused with 400 and batches refused with 413; with long freezes between some
invocations, an outage just before the end, and a final spindown. The invariant (``ext_faults.check``):
every accepted span was delivered, or counted in a named loss counter; duplicates within the counted risk;
memory within its bound; no invocation reached its timeout."""

from __future__ import annotations

from pathlib import Path

import pytest
from ext_faults import check, full_scenario, run_scenario

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_every_accepted_item_is_delivered_or_counted_under_scripted_faults(tmp_path: Path) -> None:
    phases = full_scenario()
    assert sum(p.invocations for p in phases) >= 500
    report = run_scenario(phases, tmp_path)
    assert check(report) == []
    summary = report.summary
    # Each fault was met and handled, not dodged.
    assert summary["retried"] > 0
    assert summary["split"] > 0  # the 400 and 413 phases split batches
    assert summary["spooled"] > 0  # the outages overflowed the 64 KiB memory buffer
    assert {status for status, _ in report.refused} == {400, 413}
    assert len(report.sent_names) + len(report.poisoned) >= 1500
