"""End to end in the emulator: spans started in ``threading.Thread`` and ``concurrent.futures`` workers
parent to the invocation that started the work (or to the span open where the thread was started / the task
submitted), including a pool created during Init and reused by later invocations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agent_sink import Sink
from conftest import function_env

from zerolag.emulator import Sandbox

pytestmark = pytest.mark.e2e

FUNCTION = """
import threading
from concurrent.futures import ThreadPoolExecutor

from zerolag.agent import span

POOL = ThreadPoolExecutor(max_workers=2)  # created during Init, before any invocation
POOL.submit(lambda: None).result()  # its worker thread exists before the first invocation


def work(name):
    with span(name):
        with span(name + "-inner"):
            pass
    return name


def handler(event, context):
    n = event["n"]
    t = threading.Thread(target=work, args=("thread-%d" % n,))
    t.start()
    t.join()
    list(POOL.map(work, ["pool-%d-a" % n, "pool-%d-b" % n]))
    with ThreadPoolExecutor(max_workers=1) as ex:
        ex.submit(work, "fresh-pool-%d" % n).result()
    with span("outer-%d" % n):
        t = threading.Thread(target=work, args=("under-outer-%d" % n,))
        t.start()
        t.join()
        POOL.submit(work, "pool-under-outer-%d" % n).result()
    return {"ok": True}
"""


def test_spans_in_threads_and_pools_parent_to_the_invocation(
    agent_layer: Path, sink: Sink, moto_url: str, tmp_path: Path
) -> None:
    code = tmp_path / "fn"
    code.mkdir()
    (code / "app.py").write_text(FUNCTION)
    env = function_env(
        moto_url,
        AWS_LAMBDA_EXEC_WRAPPER="/opt/zerolag-wrapper",
        ZEROLAG_REPORT_LOCAL="true",
        ZEROLAG_EXTENSION_PORT=str(sink.port),
    )
    with Sandbox(
        code, "app.handler", layers=[agent_layer], env=env, timeout=30, function_name="threads", freeze=False
    ) as sb:
        ids = []
        for n in (1, 2):
            result = sb.invoke({"n": n})
            assert result.status == "success", [line.text for line in sb.logs][-20:]
            ids.append(result.request_id)
        assert sink.wait_for(lambda s: all(rid in s.finals() for rid in ids))
    spans = sink.spans()
    by_name: dict[str, dict[str, Any]] = {s["name"]: s for s in spans}
    for n in (1, 2):
        roots = [
            s for s in spans if s["name"] == "threads" and s["_attrs"]["faas.invocation_id"] == ids[n - 1]
        ]
        assert len(roots) == 1
        root = roots[0]
        for name in (f"thread-{n}", f"pool-{n}-a", f"pool-{n}-b", f"fresh-pool-{n}", f"outer-{n}"):
            assert by_name[name]["parentSpanId"] == root["spanId"], name
            assert by_name[name]["traceId"] == root["traceId"], name
            inner = by_name.get(name + "-inner")
            if inner is not None:
                assert inner["parentSpanId"] == by_name[name]["spanId"], name
        outer = by_name[f"outer-{n}"]
        for name in (f"under-outer-{n}", f"pool-under-outer-{n}"):
            assert by_name[name]["parentSpanId"] == outer["spanId"], name
            assert by_name[name]["traceId"] == root["traceId"], name
