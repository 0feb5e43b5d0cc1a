// A custom Lambda runtime in Node.js whose handler uses the unmodified OpenTelemetry JS SDK and its OTLP/HTTP
// exporters (JSON by default, protobuf with OTLP_ENCODING=protobuf). The SDK finds the zerolag extension
// through OTEL_EXPORTER_OTLP_ENDPOINT alone. Each invocation: one span named after the event, one log record,
// one counter increment, then a force-flush of all three providers before the response.
'use strict';
const http = require('http');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');

const proto = process.env.OTLP_ENCODING === 'protobuf';
const traces = require(proto ? '@opentelemetry/exporter-trace-otlp-proto' : '@opentelemetry/exporter-trace-otlp-http');
const metrics = require(proto ? '@opentelemetry/exporter-metrics-otlp-proto' : '@opentelemetry/exporter-metrics-otlp-http');
const logs = require(proto ? '@opentelemetry/exporter-logs-otlp-proto' : '@opentelemetry/exporter-logs-otlp-http');

const tracerProvider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new traces.OTLPTraceExporter())] });
const tracer = tracerProvider.getTracer('e2e-js');
const meterProvider = new MeterProvider({
  readers: [new PeriodicExportingMetricReader({ exporter: new metrics.OTLPMetricExporter(), exportIntervalMillis: 3600000 })],
});
const counter = meterProvider.getMeter('e2e-js').createCounter('e2e.js.invocations');
const loggerProvider = new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter: new logs.OTLPLogExporter() })] });
const logger = loggerProvider.getLogger('e2e-js');

const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, method, path, agent: false, headers: { 'Content-Type': 'application/json' } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

async function main() {
  for (;;) {
    const next = await call('GET', '/2018-06-01/runtime/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    const event = JSON.parse(next.body || '{}');
    const name = event.name || 'span';
    tracer.startSpan(name).end();
    logger.emit({ body: `log-${name}`, severityNumber: 9, severityText: 'INFO' });
    counter.add(1);
    await Promise.all([tracerProvider.forceFlush(), loggerProvider.forceFlush(), meterProvider.forceFlush()]);
    await call('POST', `/2018-06-01/runtime/invocation/${id}/response`, JSON.stringify({ ok: true }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
