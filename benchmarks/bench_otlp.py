"""Benchmark: zerolag.otlp (stdlib) against google.protobuf with the official OTLP messages, same run.

Run: ``python benchmarks/bench_otlp.py [--spans N] [--repeat R] [--quick]``. Prints µs per span (best of R)
for encoding, decoding and counting a traces request of typical Lambda spans (5 attributes, 1 of 4 with an
event), and the import time of each codec in fresh processes (median of 9).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))

from zerolag.otlp import jsoncodec, model, wire  # noqa: E402
from zerolag.otlp import protobuf as pb  # noqa: E402


def make_request(n: int) -> dict[str, Any]:
    """A traces request of ``n`` spans shaped like a Lambda handler's."""
    trace_id, root = model.new_trace_id(), model.new_span_id()
    spans = []
    for i in range(n):
        events = [model.event("retry", 1_700_000_000_050_000_000 + i, {"attempt": 2})] if i % 4 == 0 else None
        spans.append(
            model.span(
                "GET /items/{id}",
                trace_id,
                model.new_span_id(),
                1_700_000_000_000_000_000 + i,
                1_700_000_000_100_000_000 + i,
                parent_span_id=root,
                kind=model.SpanKind.CLIENT,
                attrs={
                    "http.request.method": "GET",
                    "url.full": f"https://api.example.com/items/{i}",
                    "http.response.status_code": 200,
                    "faas.coldstart": False,
                    "faas.invocation_id": "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
                },
                events=events,
                status_code=model.StatusCode.OK,
            )
        )
    resource = {"service.name": "orders", "cloud.provider": "aws", "faas.name": "orders-api"}
    return model.traces_request(model.resource_spans(resource, "zerolag", spans))


def official_build(req: dict[str, Any]) -> Any:
    """Build the official message the way an SDK exporter does: field by field, from our dict."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    snake = {"stringValue": "string_value", "intValue": "int_value", "boolValue": "bool_value"}

    def kvs(attrs: list[dict[str, Any]]) -> list[Any]:
        out = []
        for a in attrs:
            ((key, value),) = a["value"].items()
            out.append(KeyValue(key=a["key"], value=AnyValue(**{snake[key]: value})))
        return out

    msg = ExportTraceServiceRequest()
    for rs in req["resourceSpans"]:
        out_rs = msg.resource_spans.add()
        out_rs.resource.attributes.extend(kvs(rs["resource"].get("attributes", [])))
        for ss in rs["scopeSpans"]:
            out_ss = out_rs.scope_spans.add()
            out_ss.scope.name = ss["scope"]["name"]
            for sp in ss["spans"]:
                out = out_ss.spans.add()
                out.trace_id = bytes.fromhex(sp["traceId"])
                out.span_id = bytes.fromhex(sp["spanId"])
                out.parent_span_id = bytes.fromhex(sp["parentSpanId"])
                out.name = sp["name"]
                out.kind = sp["kind"]
                out.start_time_unix_nano = sp["startTimeUnixNano"]
                out.end_time_unix_nano = sp["endTimeUnixNano"]
                out.attributes.extend(kvs(sp["attributes"]))
                for ev in sp.get("events", []):
                    out.events.add(
                        time_unix_nano=ev["timeUnixNano"], name=ev["name"], attributes=kvs(ev["attributes"])
                    )
                out.status.code = sp["status"]["code"]
    return msg


def best_us(func: Any, per: int, repeat: int) -> float:
    """Best time of ``repeat`` calls, in µs per item."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best / per * 1e6


def import_ms(statement: str) -> float:
    """Median in-process import time over fresh interpreters (``-S``: no site packages .pth side effects)."""
    code = f"import time; t = time.perf_counter(); {statement}; print((time.perf_counter() - t) * 1e3)"
    env = {"PYTHONPATH": f"{SRC}:{':'.join(p for p in sys.path if 'site-packages' in p)}"}
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-S", "-c", code], capture_output=True, text=True, env=env, check=True
            ).stdout
        )
        for _ in range(9)
    ]
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spans", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="best of 20 instead of --repeat")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 20
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    req = make_request(args.spans)
    data = pb.encode("traces", req)
    msg = ExportTraceServiceRequest.FromString(data)
    assert pb.decode("traces", msg.SerializeToString()) == req
    n, r = args.spans, args.repeat

    def official_count() -> int:
        parsed = ExportTraceServiceRequest.FromString(data)
        return sum(len(ss.spans) for rs in parsed.resource_spans for ss in rs.scope_spans)

    rows = [
        ("encode (dict -> bytes)", best_us(lambda: pb.encode("traces", req), n, r),
         "build + serialize", best_us(lambda: official_build(req).SerializeToString(), n, r)),
        ("encode, message prebuilt", None, "serialize", best_us(msg.SerializeToString, n, r)),
        ("decode (bytes -> dict)", best_us(lambda: pb.decode("traces", data), n, r),
         "FromString", best_us(lambda: ExportTraceServiceRequest.FromString(data), n, r)),
        ("count_items", best_us(lambda: wire.count_items("traces", data), n, r),
         "FromString + len", best_us(official_count, n, r)),
        ("OTLP/JSON dumps", best_us(lambda: jsoncodec.dumps(req), n, r), "", None),
        ("OTLP/JSON loads", best_us(lambda: jsoncodec.loads("traces", jsoncodec.dumps(req)), n, r), "", None),
    ]  # fmt: skip
    print(
        f"zerolag.otlp vs google.protobuf {_pb_version()} ({_backend()}), {n} spans, {len(data) // n} B/span"
    )
    print(f"Python {sys.version.split()[0]}; µs per span, best of {r}\n")
    print(f"| {'operation':<26} | {'zerolag':>8} | {'google.protobuf':<18} | {'µs':>6} | {'ratio':>6} |")
    print(f"|{'-' * 28}|{'-' * 10}|{'-' * 20}|{'-' * 8}|{'-' * 8}|")
    for name, ours, peer_name, peer in rows:
        ours_s = f"{ours:8.2f}" if ours is not None else " " * 8
        peer_s = f"{peer:6.2f}" if peer is not None else " " * 6
        ratio = f"{ours / peer:6.1f}" if ours is not None and peer else " " * 6
        print(f"| {name:<26} | {ours_s} | {peer_name:<18} | {peer_s} | {ratio} |")
    ours_import = import_ms("import zerolag.otlp.protobuf, zerolag.otlp.wire")
    peer_import = import_ms("import opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    print(
        f"\nimport (ms): zerolag.otlp.protobuf + wire {ours_import:.1f}, "
        f"official trace_service_pb2 {peer_import:.1f}"
    )


def _pb_version() -> str:
    import google.protobuf

    return str(google.protobuf.__version__)


def _backend() -> str:
    from google.protobuf.internal import api_implementation

    return str(api_implementation.Type())


if __name__ == "__main__":
    main()
