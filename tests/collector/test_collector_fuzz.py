"""Arbitrary bodies never crash ingest: the answer is 200 or a 4xx, and a refused request stores nothing."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

from collector_client import INGEST_KEY, make_config
from collector_payloads import invocation_trace
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerolag.collector.app import App, Request
from zerolag.collector.store import Store
from zerolag.otlp import protobuf

VALID = protobuf.encode("traces", invocation_trace("fn", "r1"))


def mutations() -> st.SearchStrategy[bytes]:
    flips = st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), max_size=8).map(
        lambda edits: bytes(b if i not in dict(edits) else dict(edits)[i] for i, b in enumerate(VALID))
    )
    return st.one_of(st.binary(max_size=2048), st.integers(0, len(VALID)).map(lambda n: VALID[:n]), flips)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=mutations(),
    ctype=st.sampled_from(["application/x-protobuf", "application/json"]),
    gz=st.booleans(),
)
def test_fuzzed_bodies_get_200_or_4xx(tmp_path: Path, body: bytes, ctype: str, gz: bool) -> None:
    """Random, truncated and bit-flipped protobuf/JSON, plain or gzip: never a 5xx or an exception, and a
    4xx leaves no row behind."""
    store = Store(tmp_path / "fuzz.db")
    try:
        app = App(make_config(tmp_path), store)
        headers = {"Content-Type": ctype, "X-Api-Key": INGEST_KEY}
        if gz:
            body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
        before = _rows(store)
        response = app.ingest("traces", Request("POST", "/v1/traces", headers, body))
        assert response.status == 200 or 400 <= response.status < 500
        if response.status != 200:
            assert _rows(store) == before
    finally:
        store.close()


def _rows(store: Store) -> int:
    con = sqlite3.connect(store.path)
    try:
        return sum(
            con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("spans", "span_events", "invocations")
        )
    finally:
        con.close()
