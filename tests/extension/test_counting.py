"""The counting rule: ``received = sent + dropped + shutdown_unsent``, exactly. The extension's own metrics
ride in the same batches as the function's data (and so into the spool and through a 400/413 split), but
they were never received, so they must never count as sent or dropped. Pure: store, spool and split only."""

from __future__ import annotations

from pathlib import Path

from zerolag.extension.buffer import Chunk, MemoryBuffer
from zerolag.extension.counters import Counters, metrics_request
from zerolag.extension.pipeline import split_batch
from zerolag.extension.spool import Spool
from zerolag.extension.store import Store
from zerolag.otlp import protobuf, wire


def _gauge_request(names: list[str]) -> bytes:
    """A metrics request with one data point per name (the function's own metrics)."""
    values = dict.fromkeys(names, 1)
    return protobuf.encode("metrics", metrics_request(values, 1, 2, {"attributes": []}))


def _self_metrics(n: int) -> Chunk:
    """The extension's self-metrics as ``Loop.maybe_export_self`` stores them: 0 items, ``n`` internal."""
    data = protobuf.encode(
        "metrics", metrics_request({f"c{i}": i for i in range(n)}, 1, 2, {"attributes": []})
    )
    return Chunk("metrics", data, 0, 0.0, internal=n)


def _store(tmp_path: Path, memory: int = 1 << 20) -> Store:
    counters = Counters()
    spool = Spool(str(tmp_path / "spool"), 1 << 20, count=counters.add)
    return Store(MemoryBuffer(memory), spool, counters, 1 << 20)


def test_a_spooled_batch_with_self_metrics_unspools_with_the_received_count(tmp_path: Path) -> None:
    """Spilled at SHUTDOWN or on overflow, then read back: only the function's 7 points count, not the 22
    self-metric points the same file holds."""
    store = _store(tmp_path)
    user = _gauge_request([f"m{i}" for i in range(7)])
    store.add(Chunk("metrics", user, 7, 0.0))
    store.add(_self_metrics(22))
    assert store.spill_all() == 7
    assert store.pending_items() == 7
    batch = store.next_batch()
    assert batch is not None
    assert wire.count_items("metrics", batch.payload()) == 29  # both travel together
    assert batch.items == 7
    assert batch.internal == 22
    assert store.counters.get("unspooled") == 7


def test_split_parts_share_out_the_counted_items_never_more(tmp_path: Path) -> None:
    """413s on a spooled entry that carries self-metrics, split down to single points: at every split the
    parts' items sum to their parent's, so the leaves sum to the 9 received, not the 31 in the data."""
    store = _store(tmp_path)
    store.add(Chunk("metrics", _gauge_request([f"m{i}" for i in range(9)]), 9, 0.0))
    store.add(_self_metrics(22))
    store.spill_all()
    batch = store.next_batch()
    assert batch is not None
    stack, leaves = [batch], []
    while stack:
        parent = stack.pop()
        parts = split_batch(parent, 413)
        if parts is None:
            leaves.append(parent)
            continue
        assert sum(p.items for p in parts) == parent.items
        assert sum(p.internal for p in parts) == parent.internal
        assert all(p.items >= 0 and p.internal >= 0 for p in parts)
        stack.extend(parts)
    assert len(leaves) == 31
    assert sum(leaf.items for leaf in leaves) == 9


def test_a_recovered_entry_is_counted_from_its_content(tmp_path: Path) -> None:
    """An entry a previous run left behind has no count of this process: its content says how many."""
    directory = tmp_path / "spool"
    directory.mkdir()
    (directory / "000000000001.metrics.3.pb").write_bytes(_gauge_request(["a", "b", "c"]))
    spool = Spool(str(directory), 1 << 20)
    assert spool.recover() == 1
    taken = spool.take()
    assert taken is not None
    assert taken[0].items == 3
    assert taken[0].internal == 0
