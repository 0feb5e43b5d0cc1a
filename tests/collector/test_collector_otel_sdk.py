"""The official OpenTelemetry Python SDK's OTLP/HTTP exporters, unmodified, feed the collector."""

from __future__ import annotations

import logging

import pytest
from collector_client import INGEST_KEY, Client

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")


def test_sdk_traces_with_gzip_become_an_invocation(client: Client) -> None:
    """A SERVER span with faas attributes, a child and a recorded exception arrive as one failed invocation
    with its waterfall, exported by the SDK's OTLPSpanExporter with gzip and a bearer key."""
    from opentelemetry.exporter.otlp.proto.http import Compression
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    exporter = OTLPSpanExporter(
        endpoint=f"{client.collector.url}/v1/traces",
        headers={"Authorization": f"Bearer {INGEST_KEY}"},
        compression=Compression.Gzip,
        timeout=30,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "checkout", "faas.name": "checkout"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span(
        "checkout",
        kind=SpanKind.SERVER,
        attributes={"faas.invocation_id": "sdk-req-1", "faas.trigger": "http", "faas.coldstart": True},
    ) as root:
        with tracer.start_as_current_span("charge card", kind=SpanKind.CLIENT):
            pass
        root.record_exception(RuntimeError("card declined"))
        root.set_status(Status(StatusCode.ERROR, "card declined"))
    assert provider.force_flush(30_000)
    provider.shutdown()

    detail = client.get_json("/api/invocations/sdk-req-1")
    inv = detail["invocation"]
    assert (inv["function"], inv["status"], inv["error_type"]) == ("checkout", "error", "RuntimeError")
    assert inv["cold_start"] is True
    assert [s["name"] for s in detail["spans"]] == ["checkout", "charge card"]
    assert detail["spans"][0]["events"][0]["name"] == "exception"


@pytest.mark.filterwarnings("ignore:.*LoggingHandler.*:DeprecationWarning")
def test_sdk_logs_and_metrics_are_stored(client: Client) -> None:
    """The SDK's OTLPLogExporter and OTLPMetricExporter deliver records and points the API then shows."""
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.name": "checkout"})
    headers = {"X-Api-Key": INGEST_KEY}
    log_provider = LoggerProvider(resource=resource)
    log_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{client.collector.url}/v1/logs", headers=headers))
    )
    logger = logging.getLogger("checkout.test")
    logger.propagate = False
    logger.addHandler(LoggingHandler(logger_provider=log_provider))
    logger.warning("payment retried", extra={"faas.invocation_id": "sdk-req-2"})
    log_provider.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{client.collector.url}/v1/metrics", headers=headers),
        export_interval_millis=3_600_000,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter_provider.get_meter("test").create_counter("orders").add(3, {"faas.invocation_id": "sdk-req-2"})
    assert meter_provider.force_flush(30_000)
    meter_provider.shutdown()

    import sqlite3

    db = sqlite3.connect(client.collector.config.db_path)
    try:
        log = db.execute("SELECT body, request_id, severity_text FROM logs").fetchall()
        point = db.execute("SELECT name, value, request_id FROM metric_points").fetchall()
    finally:
        db.close()
    assert log == [("payment retried", "sdk-req-2", "WARN")]
    assert set(point) == {("orders", 3.0, "sdk-req-2")}  # shutdown exports the cumulative sum again
