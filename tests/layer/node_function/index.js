// A Node.js function on the nodejs20.x runtime, instrumented with the unmodified OpenTelemetry JS SDK, which
// exports OTLP/HTTP to the zerolag extension found through OTEL_EXPORTER_OTLP_ENDPOINT alone.
// event.action: "ok" (one span named event.name, flushed before the response), "sleep" (past the timeout),
// "crash" (the process exits mid-invocation).
'use strict';
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');

const provider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
const tracer = provider.getTracer('any-runtime-e2e');

exports.handler = async (event, context) => {
  const span = tracer.startSpan(event.name || 'span');
  span.setAttribute('faas.invocation_id', context.awsRequestId);
  if (event.action === 'crash') {
    console.log('crashing now');
    process.exit(3);
  }
  if (event.action === 'sleep') {
    console.log('about to sleep');
    await new Promise((resolve) => setTimeout(resolve, 600000));
  }
  span.end();
  await provider.forceFlush();
  return { name: event.name };
};
