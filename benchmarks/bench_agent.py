"""zerolag's agent against its peers, measured in the same run: cold start, per-invocation cost, per-span cost
and RSS. One command: ``.venv/bin/python benchmarks/bench_agent.py`` (``--quick`` for a short run).

Method (shared/docs/baselines.md, "measurement traps"):
- every case runs on the real interpreter of a ``--without-pip`` venv (no pyenv shim, no site .pth);
- cold start = ``import`` + set-up timed inside fresh processes (``time.perf_counter``), cases interleaved,
  median over runs; "with .pyc" runs from a copy that was byte-compiled, "without .pyc" from a copy that
  never is (PYTHONDONTWRITEBYTECODE), the standard library keeping its .pyc as in Lambda's runtime;
- per invocation = a Lambda-style handler (invocation span + 5 child spans + 3 log lines) wrapped by each
  agent, its data handed to a real loopback receiver in another process, timed per call;
- RSS = VmRSS after set-up, minus the empty script's.
Peers: OpenTelemetry SDK (BatchSpanProcessor + OTLP/HTTP, force_flush per invocation as its Lambda
wrapper does), aws-lambda-powertools (Logger + Metrics; its Tracer needs aws-xray-sdk, not installed) and
thundra, from ``.venv/layers``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".venv" / "bench-agent"
LAYERS = REPO / ".venv" / "layers"
RUNTIME = REPO / ".venv" / "lambda-runtime"

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _reply(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    do_POST = do_PUT = do_GET = _reply
    def log_message(self, *a):
        pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
"""

# The real extension receiver (zerolag.extension's HttpServer + OtlpReceiver), with a sink that notes when
# each invocation's final marker arrived (time.perf_counter_ns: CLOCK_MONOTONIC, the same in every process).
EXT_RECEIVER = """
import json, os, sys, time
from zerolag.extension.receiver import OtlpReceiver
from zerolag.extension.server import HttpServer, bind_loopback
finals = {}
signal_fd = int(os.environ["BENCH_FINAL_FD"])
class Sink:
    def submit(self, signal, data, items, request_id=None):
        pass
    def runtime_done(self, request_id):
        finals[request_id] = time.perf_counter_ns()
        os.write(signal_fd, b"x")  # what lets the extension go to /next, and so the runtime's /next return
    def count(self, name, n=1):
        pass
server = HttpServer(bind_loopback(0), OtlpReceiver(Sink(), lambda *a: None), max_body=6 << 20)
server.start()
print(server.port, flush=True)
for line in sys.stdin:
    print(json.dumps(finals), flush=True)
    finals.clear()
"""

# --- cold start: set-up code per case (what a user writes at the top of the handler module) -------------
HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
COLD = {
    "empty script": ("", ""),
    "zerolag": ("zerolag", "import zerolag.agent\nh = zerolag.agent.instrument(handler)\n"),
    "OpenTelemetry SDK + BatchSpanProcessor + OTLP/HTTP": (
        "otel-sdk",
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import BatchSpanProcessor\n"
        "from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter\n"
        "p = TracerProvider()\n"
        "p.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint='http://127.0.0.1:9/v1/traces')))\n"
        "trace.set_tracer_provider(p)\n",
    ),
    "Powertools Logger + Metrics": (
        "powertools",
        "from aws_lambda_powertools import Logger, Metrics\n"
        "logger = Logger(service='bench')\nmetrics = Metrics(namespace='bench', service='bench')\n"
        "h = logger.inject_lambda_context(metrics.log_metrics(handler))\n",
    ),
    "thundra": (
        "thundra",
        "from thundra.thundra_agent import Thundra\nh = Thundra(api_key='bench')(handler)\n",
    ),
    "reference: import boto3": ("runtime", "import boto3\n"),
    "boto3, then zerolag": (
        "runtime+zerolag",
        "import boto3\nimport zerolag.agent\nh = zerolag.agent.instrument(handler)\n",
    ),
}

COLD_SCRIPT = """
import time
_t0 = time.perf_counter()
{handler}{setup}
_t1 = time.perf_counter()
import sys
for line in open('/proc/self/status'):
    if line.startswith('VmRSS'):
        rss = int(line.split()[1])
heavy = [m for m in ('json', 'http.client', 'logging', 'threading', 'uuid', 'socket') if m in sys.modules]
print(repr(((_t1 - _t0) * 1000, rss, heavy)))
"""

# --- per invocation ---------------------------------------------------------------------------------------
INVOKE_COMMON = """
import json, logging, sys, time
logger = logging.getLogger('bench')
logger.setLevel(logging.INFO)
logger.addHandler(logging.NullHandler())
logger.propagate = False
class Ctx:
    aws_request_id = 'req'
    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:bench'
    function_name = 'bench'
    function_version = '$LATEST'
    memory_limit_in_mb = '128'
    log_group_name = '/aws/lambda/bench'
    log_stream_name = 'stream'
    client_context = None
    identity = None
    def get_remaining_time_in_millis(self):
        return 30000
ctx = Ctx()
event = {'version': '2.0', 'rawPath': '/', 'headers': {'user-agent': 'bench'},
         'requestContext': {'http': {'method': 'GET', 'path': '/'}, 'domainName': 'x.example.com'}}
N, WARM = int(sys.argv[1]), int(sys.argv[2])
def run(call, after=None, parts=None):
    hand, total, returned = [], [], {}
    for i in range(WARM + N):
        ctx.aws_request_id = 'req-%d' % i
        t0 = time.perf_counter_ns()
        call(event, ctx)
        t1 = time.perf_counter_ns()
        if after is not None:
            after()
        t2 = time.perf_counter_ns()
        if i >= WARM:
            hand.append((t1 - t0) / 1000)
            total.append((t2 - t0) / 1000)
            returned[ctx.aws_request_id] = t1
    out = {'handler': hand, 'total': total, 'returned': returned, 'parts': parts or {}}
    print(json.dumps(out), file=sys.__stdout__, flush=True)
"""

# The zerolag cases: the exporter's encode and write are timed from outside (wrapped here, not in the agent).
ZEROLAG_CASE = """
import zerolag.agent as za
from zerolag.agent import export, instrument, runtime, span
@za.instrument
def handler(e, c):
    for i in range(5):
        with span('child'):
            pass
    for i in range(3):
        logger.info('line %d', i)
    return {'statusCode': 200}
agent = runtime.get()
parts = {'encode': [], 'write': []}
import os, select
_final_fd = int(os.environ["BENCH_FINAL_FD"])
def next_event():
    # The runtime's /next: it returns once the extension has the invocation's final request (the extension
    # holds its own /next until then). The runtime's thread is idle meanwhile, as it is in Lambda.
    if select.select([_final_fd], [], [], 10)[0]:
        os.read(_final_fd, 1)
_protobuf = export.ExtensionExporter.protobuf
def protobuf(self, job):
    t = time.perf_counter_ns()
    out = _protobuf(self, job)
    parts['encode'].append((time.perf_counter_ns() - t) / 1000)
    return out
export.ExtensionExporter.protobuf = protobuf
_send = export.ExtensionExporter.send
def send(self, job, wait=True):
    t = time.perf_counter_ns()
    _send(self, job, wait)
    parts['write'].append((time.perf_counter_ns() - t) / 1000)
export.ExtensionExporter.send = send
"""

INVOKE = {
    "no agent (the same handler: 3 log lines, no spans)": (
        "",
        {},
        """
def handler(e, c):
    for i in range(3):
        logger.info('line %d', i)
    return {'statusCode': 200}
run(handler)
""",
    ),
    "zerolag, hand-off on the runtime's thread before /next (as under awslambdaric)": (
        "zerolag",
        {"ZEROLAG_REPORT_LOCAL": "true"},
        ZEROLAG_CASE
        + """
agent.inline_hand_off = True  # what install_runtime_hook sets when awslambdaric runs the function
def after():
    agent.hand_off()
    next_event()
run(handler, after, parts)
""",
    ),
    "zerolag, hand-off by the worker thread (outside awslambdaric)": (
        "zerolag",
        {"ZEROLAG_REPORT_LOCAL": "true"},
        ZEROLAG_CASE
        + """
run(handler, next_event, parts)
""",
    ),
    "OpenTelemetry SDK (force_flush + OTLP/HTTP per invocation)": (
        "otel-sdk",
        {},
        """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
p = TracerProvider()
p.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=URL + '/v1/traces')))
trace.set_tracer_provider(p)
tracer = trace.get_tracer('bench')
def handler(e, c):
    for i in range(5):
        with tracer.start_as_current_span('child'):
            pass
    for i in range(3):
        logger.info('line %d', i)
    return {'statusCode': 200}
def wrapped(e, c):
    with tracer.start_as_current_span('bench', kind=trace.SpanKind.SERVER,
                                      attributes={'faas.invocation_id': c.aws_request_id}):
        r = handler(e, c)
    p.force_flush()
    return r
run(wrapped)
""",
    ),
    "Powertools Logger + Metrics (EMF to stdout)": (
        "powertools",
        {"POWERTOOLS_SERVICE_NAME": "bench", "POWERTOOLS_METRICS_NAMESPACE": "bench"},
        """
import io, sys as _s
from aws_lambda_powertools import Logger, Metrics
plog = Logger(service='bench', logger_handler=logging.NullHandler())
metrics = Metrics(namespace='bench', service='bench')
@plog.inject_lambda_context
@metrics.log_metrics
def handler(e, c):
    for i in range(3):
        plog.info('line %d', i)
    metrics.add_metric(name='orders', unit='Count', value=1)
    return {'statusCode': 200}
_real = _s.stdout
_s.stdout = io.StringIO()
try:
    run(handler, lambda: (_s.stdout.seek(0), _s.stdout.truncate()))
finally:
    out = _s.stdout
    _s.stdout = _real
""",
    ),
    "thundra (REST report to loopback)": (
        "thundra",
        {"THUNDRA_APIKEY": "bench", "THUNDRA_AGENT_REPORT_REST_BASEURL": "URL"},
        """
from thundra.thundra_agent import Thundra
from thundra.opentracing.tracer import ThundraTracer
t = Thundra(api_key='bench')
tracer = ThundraTracer.get_instance()
@t
def handler(e, c):
    for i in range(5):
        with tracer.start_active_span(operation_name='child', finish_on_close=True):
            pass
    for i in range(3):
        logger.info('line %d', i)
    return {'statusCode': 200}
run(handler)
""",
    ),
}

SPAN = {
    "zerolag span()": (
        "zerolag",
        """
from zerolag.agent import span, spans
spans.recorder.max_spans = 10**9
def one():
    with span('x'):
        pass
def drain():
    spans.recorder.take_spans()
""",
    ),
    "OpenTelemetry SDK start_as_current_span (no processor)": (
        "otel-sdk",
        """
from opentelemetry.sdk.trace import TracerProvider
tracer = TracerProvider().get_tracer('bench')
def one():
    with tracer.start_as_current_span('x'):
        pass
def drain():
    pass
""",
    ),
}
SPAN_LOOP = """
import json, sys, time
N = int(sys.argv[1])
per = []
for r in range(7):
    t0 = time.perf_counter_ns()
    for i in range(N):
        one()
    per.append((time.perf_counter_ns() - t0) / N / 1000)
    drain()
print(json.dumps(per))
"""


def base_python() -> str:
    """A --without-pip venv's interpreter (baselines.md: no pyenv shim, no site .pth)."""
    venv = REPO / ".venv" / "bench-base"
    exe = venv / "bin" / "python"
    if not exe.exists():
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([os.path.realpath(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    return str(exe)


def _copy(src: Path, dest: Path) -> None:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)


def prepare_trees(python: str) -> dict[str, dict[str, str]]:
    """PYTHONPATH per tree for 'pyc' and 'nopyc' copies of each agent."""
    sources: dict[str, list[Path]] = {
        "zerolag": [REPO / "src"],
        "otel-sdk": [LAYERS / "otel-sdk" / "python"],
        "powertools": [LAYERS / "powertools" / "python"],
        "thundra": [LAYERS / "thundra" / "python"],
        "runtime": [RUNTIME],
        "runtime+zerolag": [RUNTIME, REPO / "src"],
    }
    paths: dict[str, dict[str, str]] = {"pyc": {"": ""}, "nopyc": {"": ""}}
    for name, srcs in sources.items():
        for mode in ("pyc", "nopyc"):
            entries = []
            for i, src in enumerate(srcs):
                dest = WORK / mode / name / str(i)
                if not dest.exists() or src == REPO / "src":
                    if dest.exists():
                        shutil.rmtree(dest)
                    if src == REPO / "src":
                        _copy(src / "zerolag", dest / "zerolag")
                    else:
                        _copy(src, dest)
                    if mode == "pyc":
                        subprocess.run([python, "-m", "compileall", "-q", str(dest)], check=False)
                entries.append(str(dest))
            paths[mode][name] = os.pathsep.join(entries)
    return paths


def env_for(pythonpath: str, mode: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
    }
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if mode == "nopyc":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def cold_start(python: str, paths: dict[str, dict[str, str]], runs: int) -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, list[float]]] = {c: {"pyc": [], "nopyc": [], "rss": []} for c in COLD}
    heavy: dict[str, list[str]] = {}
    for _ in range(runs):
        for mode in ("pyc", "nopyc"):
            for case, (tree, setup) in COLD.items():
                script = COLD_SCRIPT.format(handler=HANDLER, setup=setup)
                extra = {"ZEROLAG_REPORT_LOCAL": "true"} if "zerolag" in tree else {}
                out = subprocess.run(
                    [python, "-c", script],
                    env=env_for(paths[mode][tree], mode, extra),
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if out.returncode != 0:
                    results[case][mode].append(float("nan"))
                    heavy[case] = [out.stderr.strip().splitlines()[-1] if out.stderr else "failed"]
                    continue
                ms, rss, mods = eval(out.stdout.strip().splitlines()[-1])
                results[case][mode].append(ms)
                if mode == "pyc":
                    results[case]["rss"].append(rss / 1024)
                    heavy.setdefault(case, mods)
    summary = {}
    for case, r in results.items():
        summary[case] = {
            "pyc_ms": statistics.median(r["pyc"]),
            "nopyc_ms": statistics.median(r["nopyc"]),
            "rss_mib": statistics.median(r["rss"]) if r["rss"] else float("nan"),
            "stdlib_loaded": heavy.get(case, []),
        }
    return summary


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _finals(ext: subprocess.Popen[str]) -> dict[str, int]:
    """The extension receiver's arrival time of each final marker since the last call."""
    assert ext.stdin is not None
    assert ext.stdout is not None
    ext.stdin.write("\n")
    ext.stdin.flush()
    finals: dict[str, int] = json.loads(ext.stdout.readline())
    return finals


def per_invocation(  # noqa: PLR0917
    python: str,
    paths: dict[str, dict[str, str]],
    n: int,
    url: str,
    ext: subprocess.Popen[str],
    ext_port: int,
    final_fd: int,
) -> dict[str, object]:
    out: dict[str, object] = {}
    for case, (tree, raw_env, body) in INVOKE.items():
        extra = {k: (url if v == "URL" else v) for k, v in raw_env.items()}
        if tree == "zerolag":
            extra["ZEROLAG_EXTENSION_PORT"] = str(ext_port)
            _finals(ext)
        script = INVOKE_COMMON + f"URL = {url!r}\n" + textwrap.dedent(body)
        if tree == "zerolag":
            extra["BENCH_FINAL_FD"] = str(final_fd)
        proc = subprocess.run(
            [python, "-c", script, str(n), str(max(50, n // 10))],
            env=env_for(paths["pyc"][tree], "pyc", extra),
            pass_fds=(final_fd,) if tree == "zerolag" else (),
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if proc.returncode != 0 or not proc.stdout.strip():
            out[case] = {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
            continue
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        hand, total = data["handler"], data["total"]
        result: dict[str, object] = {
            "median_us": statistics.median(hand),
            "p90_us": _pct(hand, 0.9),
            "p99_us": _pct(hand, 0.99),
            "with_send_median_us": statistics.median(total),
            "with_send_p99_us": _pct(total, 0.99),
        }
        if tree == "zerolag":
            # The hand-off: from the handler's return to the extension receiver noting the final marker.
            finals = _finals(ext)
            returned: dict[str, int] = data["returned"]
            hand_off = [(finals[r] - t) / 1000 for r, t in returned.items() if r in finals]
            result["hand_off_median_us"] = statistics.median(hand_off) if hand_off else float("nan")
            result["hand_off_p99_us"] = _pct(hand_off, 0.99) if hand_off else float("nan")
            result["hand_off_missing"] = len(returned) - len(hand_off)
            for part, values in data["parts"].items():
                result[f"{part}_median_us"] = statistics.median(values) if values else float("nan")
        out[case] = result
    return out


def per_span(python: str, paths: dict[str, dict[str, str]], n: int) -> dict[str, object]:
    out: dict[str, object] = {}
    for case, (tree, body) in SPAN.items():
        script = textwrap.dedent(body) + SPAN_LOOP
        proc = subprocess.run(
            [python, "-c", script, str(n)],
            env=env_for(paths["pyc"][tree], "pyc"),
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if proc.returncode != 0:
            out[case] = {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
            continue
        per = json.loads(proc.stdout.strip().splitlines()[-1])
        out[case] = {"median_us": statistics.median(per), "min_us": min(per)}
    return out


def report(cold: dict[str, dict[str, object]], inv: dict[str, object], span: dict[str, object]) -> str:
    empty_rss = float(cold["empty script"]["rss_mib"])  # type: ignore[arg-type]
    lines = [
        "## Cold start (import + set-up in-process, median ms; RSS after set-up)",
        "",
        "| case | with .pyc | without .pyc | RSS MiB | added RSS MiB | heavy stdlib loaded |",
        "|---|---|---|---|---|---|",
    ]
    for case, r in cold.items():
        rss = float(r["rss_mib"])  # type: ignore[arg-type]
        mods = ", ".join(r["stdlib_loaded"]) or "-"  # type: ignore[arg-type]
        lines.append(
            f"| {case} | {r['pyc_ms']:.2f} | {r['nopyc_ms']:.2f} | {rss:.1f} | {rss - empty_rss:+.1f} "
            f"| {mods} |"
        )
    z = float(cold["zerolag"]["pyc_ms"])  # type: ignore[arg-type]
    for case in cold:
        if case not in ("empty script", "zerolag", "boto3, then zerolag", "reference: import boto3"):
            ratio = float(cold[case]["pyc_ms"]) / z if z > 0 else float("nan")  # type: ignore[arg-type]
            lines.append(f"\n{case} / zerolag (with .pyc): {ratio:.0f}x")
    lines += [
        "",
        "## Per invocation (invocation span + 5 child spans + 3 log lines, µs)",
        "",
        "| agent | median | p90 | p99 | incl. send to loopback: median | p99 |",
        "|---|---|---|---|---|---|",
    ]
    for case, r in inv.items():
        if "error" in r:  # type: ignore[operator]
            lines.append(f"| {case} | failed: {r['error']} | | | | |")  # type: ignore[index]
            continue
        lines.append(
            f"| {case} | {r['median_us']:.1f} | {r['p90_us']:.1f} | {r['p99_us']:.1f} | "  # type: ignore[index]
            f"{r['with_send_median_us']:.1f} | {r['with_send_p99_us']:.1f} |"
        )  # type: ignore[index]
    lines += [
        "",
        "## zerolag's hand-off to the real extension receiver (µs; from the handler's return until the",
        "## receiver has the final marker; encode and write as timed around the exporter)",
        "",
        "| mode | hand-off median | p99 | encode median | write median | lost |",
        "|---|---|---|---|---|---|",
    ]
    for case, r in inv.items():
        if "hand_off_median_us" in r:  # type: ignore[operator]
            lines.append(
                f"| {case} | {r['hand_off_median_us']:.1f} | {r['hand_off_p99_us']:.1f} | "  # type: ignore[index]
                f"{r.get('encode_median_us', float('nan')):.1f} | "  # type: ignore[attr-defined]
                f"{r.get('write_median_us', float('nan')):.1f} | {r['hand_off_missing']} |"  # type: ignore[attr-defined,index]
            )
    lines += ["", "## Per span (µs, median of 7 rounds)", "", "| case | median | best |", "|---|---|---|"]
    for case, r in span.items():
        if "error" in r:  # type: ignore[operator]
            lines.append(f"| {case} | failed: {r['error']} | |")  # type: ignore[index]
        else:
            lines.append(f"| {case} | {r['median_us']:.2f} | {r['min_us']:.2f} |")  # type: ignore[index]
    lines += ["", *goal_rows(cold, inv, span)]
    return "\n".join(lines)


def goal_row(measure: str, now: str, goal: str, met: bool | None) -> str:
    """One line of issue 13's table; ``benchmarks/run.py`` collects every ``GOAL |`` line into its summary."""
    verdict = "-" if met is None else ("met" if met else "NOT met")
    return f"GOAL | {measure} | {now} | {goal} | {verdict}"


def goal_rows(
    cold: dict[str, dict[str, object]], inv: dict[str, object], span: dict[str, object]
) -> list[str]:
    def num(d: object, key: str) -> float:
        value = d.get(key, float("nan")) if isinstance(d, dict) else float("nan")
        return float(value)  # type: ignore[arg-type]

    z_cold = num(cold["zerolag"], "pyc_ms")
    empty = num(cold["empty script"], "pyc_ms")
    otel = num(cold["OpenTelemetry SDK + BatchSpanProcessor + OTLP/HTTP"], "pyc_ms")
    inline = inv.get("zerolag, hand-off on the runtime's thread before /next (as under awslambdaric)", {})
    bare = inv.get("no agent (the same handler: 3 log lines, no spans)", {})
    per = num(span.get("zerolag span()", {}), "median_us")
    med, p99 = num(inline, "median_us"), num(inline, "p99_us")
    hand = num(inline, "hand_off_median_us")
    return [
        goal_row(
            "agent cold start, with .pyc",
            f"{z_cold:.2f} ms (empty script {empty:.2f} ms, OTel SDK {otel:.0f} ms)",
            "<= 5 ms",
            z_cold <= 5,
        ),
        goal_row(
            "agent per invocation (1+5 spans, 3 log lines), median / p99",
            f"{med:.1f} / {p99:.1f} µs (no agent: {num(bare, 'median_us'):.1f} µs)",
            "<= 40 / <= 100 µs",
            med <= 40 and p99 <= 100,
        ),
        goal_row(
            "the same, until the extension has the data (hand-off), median / p99",
            f"{hand:.1f} / {num(inline, 'hand_off_p99_us'):.1f} µs",
            "<= 150 µs median",
            hand <= 150,
        ),
        goal_row("per span", f"{per:.2f} µs", "<= 3 µs", per <= 3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per cold-start case and mode")
    parser.add_argument("--invocations", type=int, default=3000)
    parser.add_argument("--spans", type=int, default=20000)
    parser.add_argument("--quick", action="store_true", help="5 runs, 500 invocations, 5000 spans")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.invocations, args.spans = 5, 500, 5000
    python = base_python()
    paths = prepare_trees(python)
    receiver = subprocess.Popen([python, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    final_r, final_w = os.pipe()  # the receiver signals each final marker: the benchmark's /next
    ext = subprocess.Popen(
        [python, "-c", EXT_RECEIVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env_for(paths["pyc"]["zerolag"], "pyc", {"BENCH_FINAL_FD": str(final_w)}),
        pass_fds=(final_w,),
    )
    try:
        assert receiver.stdout is not None
        assert ext.stdout is not None
        port = int(receiver.stdout.readline())
        ext_port = int(ext.stdout.readline())
        url = f"http://127.0.0.1:{port}"
        started = time.time()
        cold = cold_start(python, paths, args.runs)
        inv = per_invocation(python, paths, args.invocations, url, ext, ext_port, final_r)
        span = per_span(python, paths, args.spans)
    finally:
        for proc in (receiver, ext):
            proc.terminate()
            proc.wait(10)
    print(report(cold, inv, span))
    print(f"\n(python {python}, {time.time() - started:.0f} s, load average {os.getloadavg()[0]:.1f})")
    if args.json:
        args.json.write_text(json.dumps({"cold": cold, "invocation": inv, "span": span}, indent=2))


if __name__ == "__main__":
    main()
