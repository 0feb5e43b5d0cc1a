"""A function instrumented with the unmodified OpenTelemetry Python SDK and its OTLP/HTTP exporters.

The SDK finds the extension through OTEL_EXPORTER_OTLP_ENDPOINT alone. Each invocation makes one span named
after the event, one log record and one counter increment, then force-flushes (what the OTel Lambda
instrumentation does after every handler).
"""

import logging
import time

from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
tracer = tracer_provider.get_tracer("e2e")

reader = PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=3_600_000)
meter_provider = MeterProvider(metric_readers=[reader])
counter = meter_provider.get_meter("e2e").create_counter("e2e.invocations")

logger_provider = LoggerProvider()
logger_provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
log = logging.getLogger("e2e")
log.addHandler(LoggingHandler(logger_provider=logger_provider))
log.setLevel(logging.INFO)
log.propagate = False


def handler(event, context):
    name = event.get("name", "span")
    pad = "x" * event.get("pad", 0)
    for i in range(1, event.get("count", 1)):
        with tracer.start_as_current_span(f"{name}.{i}") as span:
            span.set_attribute("pad", pad)
    with tracer.start_as_current_span(name):
        log.info("log-%s", name)
        counter.add(1)
        if event.get("sleep"):
            time.sleep(event["sleep"])
    tracer_provider.force_flush()
    logger_provider.force_flush()
    meter_provider.force_flush()
    if event.get("after_sleep"):
        time.sleep(event["after_sleep"])  # everything was exported: now run past the timeout
    return {"ok": True}
