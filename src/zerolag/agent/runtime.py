"""The agent's wiring: set up once per process, then begin and finish each invocation.

``get()`` builds the agent on first use (config, resource, exporter, lazy instrumentation hooks, log capture).
``begin``/``finish`` never raise: a failure inside them loses telemetry, never the handler's result.
"""

from __future__ import annotations

import _thread
import os
import time

from zerolag.agent import config as config_mod
from zerolag.agent import metrics, spans
from zerolag.agent.propagation import new_trace_id, parse_traceparent, parse_xray, sample
from zerolag.agent.redact import Redactor
from zerolag.agent.triggers import detect

TYPE_CHECKING = False
if TYPE_CHECKING:
    import signal
else:  # the C module: `signal` itself imports enum, functools and collections (~3 ms of cold start)
    import _signal as signal
if TYPE_CHECKING:
    from typing import Any

    from zerolag.agent.export import Exporter, Job
    from zerolag.agent.worker import Worker

VERSION = "0.1.0"


def resource_attributes(env: dict[str, str] | os._Environ[str], service: str) -> dict[str, Any]:
    """The OTel resource of this function instance, from the Lambda environment."""
    attrs: dict[str, Any] = {
        "service.name": service,
        "telemetry.sdk.name": "zerolag",
        "telemetry.sdk.language": "python",
        "telemetry.sdk.version": VERSION,
        "cloud.provider": "aws",
        "cloud.platform": "aws_lambda",
    }
    pairs = (
        ("cloud.region", "AWS_REGION"),
        ("faas.name", "AWS_LAMBDA_FUNCTION_NAME"),
        ("faas.version", "AWS_LAMBDA_FUNCTION_VERSION"),
        ("faas.instance", "AWS_LAMBDA_LOG_STREAM_NAME"),
        ("aws.log.group.names", "AWS_LAMBDA_LOG_GROUP_NAME"),
    )
    for key, var in pairs:
        if env.get(var):
            attrs[key] = [env[var]] if key == "aws.log.group.names" else env[var]
    memory = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    if memory.isdigit():
        attrs["faas.max_memory"] = int(memory) * 1024 * 1024
    return attrs


class Invocation:
    __slots__ = ("alarm", "cold", "request_id", "span", "start", "token", "trigger", "watched")

    def __init__(self, request_id: str, span: spans.Span, trigger: str, cold: bool) -> None:
        self.request_id = request_id
        self.span = span
        self.trigger = trigger
        self.cold = cold
        self.start = time.perf_counter()
        self.token: Any = None
        self.alarm = False
        self.watched = False


class Agent:
    def __init__(self, cfg: config_mod.Config) -> None:
        self.config = cfg
        self.redactor = Redactor(cfg.redact_keys)
        self.resource = resource_attributes(os.environ, cfg.service_name)
        self.cold = True
        self.active: Invocation | None = None
        self.exporter = self._exporter()
        self._worker: Worker | None = None
        # Set when the runtime is hooked (install_runtime_hook): the finished invocation's job waits here and
        # is handed over on the runtime's own thread right before it asks for the next event, after the
        # response is out: no thread wake-up, and the caller never waits for it.
        self.inline_hand_off = False
        self._pending: tuple[Job, bool] | None = None
        self._alarm_thread = _install_alarm(self._on_alarm)
        self.invocation_metrics = metrics.InvocationMetrics()
        metrics.aggregator.collectors.append(self.invocation_metrics.take)
        spans.recorder.max_spans = cfg.max_spans
        spans.recorder.max_logs = cfg.max_logs
        spans.recorder.sample_ratio = cfg.sample_ratio

    def _exporter(self) -> Exporter:
        from zerolag.agent import export

        cfg = self.config
        args = (self.resource, self.redactor, VERSION)
        if cfg.exporter == "extension":
            return export.ExtensionExporter(*args, cfg.extension_port, cfg.export_timeout_s)
        if cfg.exporter == "otlp":
            return export.OtlpExporter(*args, cfg.otlp_endpoint, cfg.otlp_headers, cfg.export_timeout_s)
        if cfg.exporter == "stdout":
            return export.StdoutExporter(*args)
        return export.NullExporter(*args)

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            from zerolag.agent.worker import Worker

            self._worker = Worker(self.exporter, self.on_deadline)
        return self._worker

    # -- invocation lifecycle ------------------------------------------------------------------------------
    def begin(self, event: Any, context: Any, name: str) -> Invocation | None:
        try:
            return self._begin(event, context, name)
        except Exception:
            return None

    def _parent(self, trig: Any, context: Any) -> tuple[int, int, bool]:
        parsed = parse_traceparent(trig.traceparent) if trig.traceparent else None
        if parsed is None:
            custom = getattr(getattr(context, "client_context", None), "custom", None)
            if isinstance(custom, dict):
                parsed = parse_traceparent(custom.get("traceparent"))
        if parsed is not None:
            return parsed
        xray = parse_xray(os.environ.get("_X_AMZN_TRACE_ID")) or parse_xray(trig.xray)
        if xray is not None:
            trace_id, parent, sampled = xray
            # Sampled=0 is what Lambda sends when X-Ray is not active: apply our own ratio then.
            return trace_id, parent, bool(sampled) or sample(trace_id, self.config.sample_ratio)
        trace_id = new_trace_id()
        return trace_id, 0, sample(trace_id, self.config.sample_ratio)

    def _begin(self, event: Any, context: Any, name: str) -> Invocation:
        trig = detect(event, self.config.capture_headers)
        trace_id, parent_id, sampled = self._parent(trig, context)
        request_id = str(getattr(context, "aws_request_id", "") or "")
        arn = str(getattr(context, "invoked_function_arn", "") or "")
        attrs = trig.attributes
        attrs["faas.trigger"] = trig.trigger
        attrs["faas.coldstart"] = self.cold
        attrs["faas.invocation_id"] = request_id
        attrs["aws.lambda.event_source"] = trig.source
        if arn:
            attrs["aws.lambda.invoked_arn"] = arn
            attrs["cloud.resource_id"] = arn
            parts = arn.split(":")
            if len(parts) > 4:
                attrs["cloud.account.id"] = parts[4]
        if self.config.capture_event:
            import json

            attrs["faas.event"] = json.dumps(self.redactor.value(event), default=str)[:16384]
        span = spans.Span(name, trace_id, parent_id, sampled, trig.kind, attrs)
        inv = Invocation(request_id, span, trig.trigger, self.cold)
        self.cold = False
        inv.token = spans._current.set(span)
        self.active = inv
        spans.invocation_span = span
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is not None:
            seconds = max(0.001, remaining() / 1000 - self.config.timeout_margin_s)
            worker = self.worker
            worker._start()
            if self._alarm_thread == _thread.get_ident():
                signal.setitimer(signal.ITIMER_REAL, seconds)
                inv.alarm = True
            else:
                worker.watch(request_id, time.monotonic() + seconds)
                inv.watched = True
        return inv

    def _on_alarm(self, signum: int, frame: Any) -> None:
        inv = self.active
        if inv is not None and inv.alarm:
            self.worker.deadline_reached(inv.request_id)

    def finish(self, inv: Invocation | None, result: Any, exc: BaseException | None) -> None:
        if inv is None:
            return
        try:
            self._finish(inv, result, exc)
        except Exception:  # noqa: S110 - telemetry is lost, the handler's result is not
            pass

    def _finish(self, inv: Invocation, result: Any, exc: BaseException | None) -> None:
        if inv.alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
        span = inv.span
        if exc is not None:
            span.record_exception(exc, escaped=True)
            span.set_status(spans.ERROR, f"{type(exc).__name__}: {exc}")
        elif inv.trigger == "http" and isinstance(result, dict):
            code = result.get("statusCode")
            if isinstance(code, int):
                span.attributes["http.response.status_code"] = code
                if code >= 500:
                    span.set_status(spans.ERROR)
        span.end()
        try:
            spans._current.reset(inv.token)
        except ValueError:
            spans._current.set(None)
        self.active = None
        spans.invocation_span = None
        row = self.invocation_metrics.row(inv.trigger)
        row[0] += 1
        if inv.cold:
            row[1] += 1
        if exc is not None:
            row[2] += 1
        if len(row[4]) < 10000:
            row[4].append(time.perf_counter() - inv.start)
        job = (inv.request_id, spans.recorder.take_spans(), spans.recorder.take_logs())
        if self.inline_hand_off:
            if self._pending is not None:  # not handed over (no /next in between): the worker sends it
                self.worker.submit(*self._pending)
            self._pending = (job, inv.watched)
            return
        self.worker.submit(job, inv.watched)

    def hand_off(self) -> None:
        """Send the finished invocation's data now, on this thread, without waiting for the receiver's answer
        (the runtime hook calls this before ``/next``). Never raises; if another thread is exporting at this
        moment, the worker takes the job instead of this thread waiting."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        try:
            job, watched = pending
            if watched:
                self.worker.queue.put(("done", job[0]))
            if not self.exporter.try_export(job, wait=False):
                self.worker.submit(job)
        except Exception:  # noqa: S110 - telemetry is lost, never the runtime's loop
            pass

    def on_deadline(self, request_id: str) -> Job | None:
        """Called by the worker a margin before the deadline: end what is open with a timeout marker."""
        inv = self.active
        if inv is None or inv.request_id != request_id:
            return None
        now = time.time_ns()
        for s in spans.recorder.spans.copy():
            if not s.end_time:
                s.attributes["zerolag.timeout"] = True
                s.set_status(spans.ERROR, "timeout: still running before the function's deadline")
                s.end(now)
        self.invocation_metrics.row(inv.trigger)[3] += 1
        return (request_id, spans.recorder.take_spans(), spans.recorder.take_logs())

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything handed to the exporter so far has been exported."""
        if self._pending is not None:
            self.worker.submit(*self._pending)
            self._pending = None
        return self._worker.flush(timeout) if self._worker is not None else True


def install_runtime_hook(agent: Agent) -> bool:
    """When awslambdaric runs us: hand each invocation's data over on the runtime's thread, right before it
    asks for the next event (``LambdaRuntimeClient.wait_next_invocation``), instead of waking the worker
    thread. Only for the extension exporter (a loopback write); False (nothing changed) when awslambdaric is
    not running or does not look as expected."""
    import sys

    module = sys.modules.get("awslambdaric.lambda_runtime_client")
    cls = getattr(module, "LambdaRuntimeClient", None)
    original = getattr(cls, "wait_next_invocation", None)
    if cls is None or original is None or not agent.exporter.asynchronous:
        return False
    if getattr(original, "__zerolag_wrapped__", False):
        agent.inline_hand_off = True
        return True

    def wait_next_invocation(self: Any) -> Any:
        current = get()
        if current is not None:
            current.hand_off()
        return original(self)

    spans.wraps(original, wait_next_invocation)
    wait_next_invocation.__zerolag_wrapped__ = True  # type: ignore[attr-defined]
    cls.wait_next_invocation = wait_next_invocation
    agent.inline_hand_off = True
    return True


def _install_alarm(handler: Any) -> int:
    """SIGALRM as the deadline timer (no thread wake-up per invocation) when nobody else uses it and we are
    on the main thread; returns the thread id it serves, or 0 (the worker thread then watches deadlines)."""
    try:
        if signal.getsignal(signal.SIGALRM) not in (signal.SIG_DFL, None):
            return 0
        signal.signal(signal.SIGALRM, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGALRM on this platform
        return 0
    return _thread.get_ident()


_agent: list[Agent | None] = []


def get() -> Agent | None:
    """The process's agent, set up on first call; None when disabled or when set-up failed."""
    if not _agent:
        _agent.append(_setup())
    return _agent[0]


def _setup() -> Agent | None:
    try:
        cfg = config_mod.load()
        config_mod.report_warnings(cfg)
        if not cfg.enabled:
            return None
        agent = Agent(cfg)
        from zerolag.agent import instrumentation

        instrumentation.install(cfg)
        install_runtime_hook(agent)
        return agent
    except Exception as exc:
        import sys

        sys.stderr.write(f"zerolag: agent disabled, set-up failed: {type(exc).__name__}: {exc}\n")
        return None


def reset() -> None:
    """Forget the agent (tests and benchmarks build a new one from a changed environment)."""
    _agent.clear()
