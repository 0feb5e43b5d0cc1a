"""The headline number: what telemetry adds to a real function's caller latency and billed duration, end to
end in the emulator (real awslambdaric, real extensions, freezing on), for zerolag and its peers, in one run.

One command: ``.venv/bin/python benchmarks/bench_headline.py`` (``--quick`` for fewer samples).

The function is the same in every case: an HTTP GET to a local server and two AWS calls (S3 PutObject, SQS
SendMessage) to moto's server. Each case adds what that tool's users add:

- no telemetry: the function alone (the baseline);
- zerolag: the zerolag layer (extension + agent through ``AWS_LAMBDA_EXEC_WRAPPER``, auto-instrumentation);
- OpenTelemetry SDK exporting directly: TracerProvider + BatchSpanProcessor + OTLP/HTTP exporter, a span per
  call, ``force_flush`` at the end of each invocation (what the OpenTelemetry Lambda wrapper does);
- the same SDK exporting to the zerolag extension on loopback (the zerolag layer, no agent);
- Powertools: Logger + Metrics (EMF to stdout), one log line and one metric;
- thundra: its wrapper, reporting over REST directly;
- datadog-lambda: its wrapper, when the package installs (``.venv/layers/datadog``; the row says if not).

Every backend (OTLP and Thundra REST) is a local server that answers after 3.5 ms, like a nearby region.

Measures, per case, p50 and p99, warm (one sandbox per case, rounds 50 ms apart) and cold (a fresh sandbox
per sample, Init included), every case interleaved with the others so the load of a shared machine falls on
all alike: the caller's latency and the billed duration, and what each adds over no telemetry.
Fields read from the emulator's ``InvokeResult``: ``caller_latency_ms`` when the emulator has it (the response
returned at ``/response`` time); otherwise ``duration_ms - post_runtime_ms`` (the runtime's part of the
invocation, which is what the caller waits for once the emulator returns at ``/response`` time), and the table
says which one it used. Billed: ``duration_ms`` (unrounded; ``billed_duration_ms`` rounds it up to 1 ms), plus
``init_duration_ms`` when cold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
LAYERS = ROOT / ".venv" / "layers"
BACKEND_DELAY_S = 0.0035

WORK = r'''
"""The function's work, the same in every case; ``span(name)`` is each tool's way of timing a step."""
import contextlib, os, urllib.request
import boto3

s3 = boto3.client("s3")
sqs = boto3.client("sqs")
BUCKET = "bench-headline"
s3.create_bucket(Bucket=BUCKET)
QUEUE = sqs.create_queue(QueueName="bench-headline")["QueueUrl"]
URL = os.environ["BENCH_HTTP_URL"]


def work(span=lambda name: contextlib.nullcontext()):
    with span("GET"):
        with urllib.request.urlopen(URL, timeout=5) as r:
            body = r.read()
    with span("S3.PutObject"):
        s3.put_object(Bucket=BUCKET, Key="k", Body=body)
    with span("SQS.SendMessage"):
        sqs.send_message(QueueUrl=QUEUE, MessageBody="order")
    return {"statusCode": 200, "body": str(len(body))}


def handler(event, context):
    return work()
'''

OTEL = r"""
import os
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
import app

provider = TracerProvider(resource=Resource.create({"service.name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=os.environ["BENCH_OTLP_TRACES"])))
tracer = provider.get_tracer("bench")


def handler(event, context):
    with tracer.start_as_current_span(
        "bench", kind=trace.SpanKind.SERVER, attributes={"faas.invocation_id": context.aws_request_id}
    ):
        result = app.work(lambda name: tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT))
    provider.force_flush()
    return result
"""

POWERTOOLS = r"""
from aws_lambda_powertools import Logger, Metrics
import app

logger = Logger(service="bench")
metrics = Metrics(namespace="bench", service="bench")


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event, context):
    result = app.work()
    logger.info("order placed")
    metrics.add_metric(name="orders", unit="Count", value=1)
    return result
"""

THUNDRA = r"""
from thundra.thundra_agent import Thundra
import app

handler = Thundra(api_key="bench")(app.handler)
"""

DATADOG = r"""
from datadog_lambda.wrapper import datadog_lambda_wrapper
import app

handler = datadog_lambda_wrapper(app.handler)
"""


class Server:
    """A loopback HTTP server: answers every request with a small body, after ``delay`` s."""

    def __init__(self, delay: float = 0.0) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if delay:
                    time.sleep(delay)
                server.requests += 1
                body = b'{"ok":true}'
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
                self.wfile.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Case:
    name: str
    handler: str
    layers: list[Path]
    env: dict[str, str]
    missing: str = ""  # why the case cannot run here (a package that does not install)


@dataclass
class Samples:
    latency: list[float] = field(default_factory=list)
    billed: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


LATENCY_FIELD: list[str] = []  # which InvokeResult field gave the caller's latency


def caller_latency(result: Any) -> float:
    value = getattr(result, "caller_latency_ms", None)
    if value is not None:
        LATENCY_FIELD.append("caller_latency_ms")
        return float(value)
    LATENCY_FIELD.append("duration_ms - post_runtime_ms")
    return float(result.duration_ms) - float(result.post_runtime_ms)


def cases(zerolag_layer: Path, backend: str, http_url: str, moto: str) -> list[Case]:
    base = {
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BENCH_HTTP_URL": http_url,
    }
    # One extension port per case: the warm sandboxes of all cases are open at once.
    ports = {name: str(free_port()) for name in ("zerolag", "otel")}

    def zl_ext(port: str) -> dict[str, str]:
        return {"ZEROLAG_OTLP_ENDPOINT": backend, "ZEROLAG_EXTENSION_PORT": port, "ZEROLAG_THUNDRA_PORT": "0"}

    otel, power, thundra, dd = (LAYERS / n for n in ("otel-sdk", "powertools", "thundra", "datadog"))

    def need(layer: Path, package: str) -> str:
        return "" if (layer / "python" / package).is_dir() else f"{package} is not installed in {layer}"

    return [
        Case("no telemetry", "app.handler", [], base),
        Case(
            "zerolag (agent + extension)",
            "app.handler",
            [zerolag_layer],
            {**base, **zl_ext(ports["zerolag"]), "AWS_LAMBDA_EXEC_WRAPPER": "/opt/zerolag-wrapper"},
        ),
        Case(
            "OpenTelemetry SDK, exporting directly",
            "otel_handler.handler",
            [otel],
            {**base, "BENCH_OTLP_TRACES": backend + "/v1/traces"},
            need(otel, "opentelemetry"),
        ),
        Case(
            "OpenTelemetry SDK, exporting to the zerolag extension",
            "otel_handler.handler",
            [zerolag_layer, otel],
            {
                **base,
                **zl_ext(ports["otel"]),
                "BENCH_OTLP_TRACES": f"http://127.0.0.1:{ports['otel']}/v1/traces",
            },
            need(otel, "opentelemetry"),
        ),
        Case(
            "Powertools Logger + Metrics (EMF)",
            "powertools_handler.handler",
            [power],
            {**base, "POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "bench"},
            need(power, "aws_lambda_powertools"),
        ),
        Case(
            "thundra, reporting directly",
            "thundra_handler.handler",
            [thundra],
            {**base, "THUNDRA_APIKEY": "bench", "THUNDRA_AGENT_REPORT_REST_BASEURL": backend},
            need(thundra, "thundra"),
        ),
        Case(
            "datadog-lambda (no Datadog extension)",
            "datadog_handler.handler",
            [dd],
            {**base, "DD_API_KEY": "bench", "DD_SITE": "localhost", "DD_FLUSH_TO_LOG": "true"},
            need(dd, "datadog_lambda") or "",
        ),
    ]


def _record(samples: Samples, result: Any, cold: bool) -> None:
    if result.status != "success":
        samples.failures.append(f"{result.status}: {result.body[:200]!r}")
        return
    init = float(result.init_duration_ms or 0.0) if cold else 0.0
    samples.latency.append(init + caller_latency(result))
    samples.billed.append(init + float(result.duration_ms))


def measure(runnable: list[Case], code: Path, warm_n: int, cold_n: int) -> dict[str, tuple[Samples, Samples]]:
    """Every case interleaved with the others (round-robin, the order rotating each round), so that the load
    of this shared machine falls on all of them alike: cold first (a fresh sandbox per sample), then warm (one
    sandbox per case, all open at once, rounds 50 ms apart)."""
    from contextlib import ExitStack

    from zerolag.emulator import Sandbox

    out = {case.name: (Samples(), Samples()) for case in runnable}

    def sandbox(case: Case) -> Any:
        return Sandbox(
            code, case.handler, layers=case.layers, env=case.env, timeout=30, function_name="bench"
        )

    with sandbox(runnable[0]) as sb:  # warms moto (bucket, queue) and the page cache; not measured
        sb.invoke({})
    for i in range(cold_n):
        for k in range(len(runnable)):
            case = runnable[(i + k) % len(runnable)]
            with sandbox(case) as sb:
                _record(out[case.name][1], sb.invoke({}), cold=True)
    with ExitStack() as stack:
        boxes = [(case, stack.enter_context(sandbox(case))) for case in runnable]
        for _, sb in boxes:
            for _ in range(3):
                sb.invoke({})  # connections and every code path once
        for i in range(warm_n):
            start = time.perf_counter()
            for k in range(len(boxes)):
                case, sb = boxes[(i + k) % len(boxes)]
                _record(out[case.name][0], sb.invoke({}), cold=False)
            rest = 0.05 - (time.perf_counter() - start)
            if rest > 0:
                time.sleep(rest)  # the pacing of the load (rounds 50 ms apart), not a synchronisation
    return out


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(values: list[float], base: list[float] | None) -> str:
    if not values:
        return "-"
    p50, p99 = statistics.median(values), pct(values, 0.99)
    text = f"{p50:.1f} / {p99:.1f}"
    if base:
        text += f" ({p50 - statistics.median(base):+.1f})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 warm invocations and 3 cold starts per case")
    parser.add_argument("--warm", type=int, default=100)
    parser.add_argument("--cold", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.warm, args.cold = 30, 3
    import logging

    from moto.server import ThreadedMotoServer

    from zerolag.layer.build import build_layer_tree

    tmp = Path(tempfile.mkdtemp(prefix="bench-headline-"))
    code = tmp / "code"
    code.mkdir()
    for name, text in (
        ("app.py", WORK),
        ("otel_handler.py", OTEL),
        ("powertools_handler.py", POWERTOOLS),
        ("thundra_handler.py", THUNDRA),
        ("datadog_handler.py", DATADOG),
    ):
        (code / name).write_text(text)
    layer = build_layer_tree(tmp / "layer")
    backend, http = Server(BACKEND_DELAY_S), Server()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request otherwise
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    started = time.time()
    rows: list[tuple[Case, Samples, Samples]] = []
    try:
        all_cases = cases(layer, backend.url, http.url, f"http://{host}:{port}")
        for case in all_cases:
            if case.missing:
                print(f"  {case.name}: not run ({case.missing})", flush=True)
        measured = measure([c for c in all_cases if not c.missing], code, args.warm, args.cold)
        for case in all_cases:
            warm, cold = measured.get(case.name, (Samples(), Samples()))
            rows.append((case, warm, cold))
    finally:
        moto.stop()
        backend.close()
        http.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(table(rows, args))
    print(f"\n({time.time() - started:.0f} s, load average {os.getloadavg()[0]:.1f})")


def table(rows: list[tuple[Case, Samples, Samples]], args: argparse.Namespace) -> str:
    base_warm, base_cold = rows[0][1], rows[0][2]
    source = sorted(set(LATENCY_FIELD)) or ["-"]
    lines = [
        "## Headline: what telemetry adds, end to end in the emulator (ms, p50 / p99, (+added p50))",
        "",
        f"Same function (HTTP GET + S3 PutObject + SQS SendMessage to moto); backends 3.5 ms away; warm: "
        f"{args.warm} rounds 50 ms apart, cases interleaved; cold: {args.cold} fresh sandboxes, Init "
        f"included. Caller latency from InvokeResult `{', '.join(source)}`; billed = `duration_ms` "
        "(+ `init_duration_ms` cold).",
        "",
        "| telemetry | caller latency, warm | billed, warm | caller latency, cold | billed, cold |",
        "|---|---|---|---|---|",
    ]
    for case, warm, cold in rows:
        if case.missing:
            lines.append(f"| {case.name} | not run: {case.missing} | | | |")
            continue
        first = case is rows[0][0]
        cells = [
            fmt(warm.latency, None if first else base_warm.latency),
            fmt(warm.billed, None if first else base_warm.billed),
            fmt(cold.latency, None if first else base_cold.latency),
            fmt(cold.billed, None if first else base_cold.billed),
        ]
        failed = len(warm.failures) + len(cold.failures)
        note = f" ({failed} failed: {(warm.failures + cold.failures)[0]})" if failed else ""
        lines.append(f"| {case.name}{note} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
