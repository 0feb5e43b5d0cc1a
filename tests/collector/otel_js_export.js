// Sends one invocation's spans and logs to the zerolag collector with the official OpenTelemetry JS SDK and
// exporters, unmodified: OTLP/HTTP JSON or protobuf (argv[2]: "json" or "proto"). The exporters stream
// their bodies (Transfer-Encoding: chunked), gzip when asked, and retry what the collector says is retryable.
// Env: COLLECTOR_URL, COLLECTOR_KEY, REQUEST_ID, SPAN_NAME. Exits 0 only if every export succeeded.
"use strict";
const { BasicTracerProvider, SimpleSpanProcessor } = require("@opentelemetry/sdk-trace-base");
const { LoggerProvider, SimpleLogRecordProcessor } = require("@opentelemetry/sdk-logs");
const { resourceFromAttributes } = require("@opentelemetry/resources");
const { SpanKind, SpanStatusCode, context, trace } = require("@opentelemetry/api");

const protocol = process.argv[2] === "proto" ? "proto" : "http";
const { OTLPTraceExporter } = require(`@opentelemetry/exporter-trace-otlp-${protocol}`);
const { OTLPLogExporter } = require(`@opentelemetry/exporter-logs-otlp-${protocol}`);

const url = process.env.COLLECTOR_URL;
const headers = { "X-Api-Key": process.env.COLLECTOR_KEY };
const requestId = process.env.REQUEST_ID;
const resource = resourceFromAttributes({ "service.name": "js-fn", "faas.name": "js-fn" });

const failures = [];
function watch(exporter) {
  const original = exporter.export.bind(exporter);
  exporter.export = (items, done) =>
    original(items, (result) => {
      if (result.code !== 0) failures.push(String(result.error));
      done(result);
    });
  return exporter;
}

// The SDK's processors took an exporter, and now take { exporter }: accept whichever this install has.
function processor(Processor, exporter) {
  const old = new Processor(exporter);
  return old._exporter ? old : new Processor({ exporter });
}

async function main() {
  const traceExporter = watch(new OTLPTraceExporter({ url: `${url}/v1/traces`, headers, compression: "gzip" }));
  const tracer = new BasicTracerProvider({
    resource,
    spanProcessors: [processor(SimpleSpanProcessor, traceExporter)],
  });
  const logExporter = watch(new OTLPLogExporter({ url: `${url}/v1/logs`, headers }));
  const loggers = new LoggerProvider({ resource, processors: [processor(SimpleLogRecordProcessor, logExporter)] });

  const t = tracer.getTracer("interop");
  const root = t.startSpan("handler", {
    kind: SpanKind.SERVER,
    attributes: { "faas.invocation_id": requestId, "faas.trigger": "http", "faas.coldstart": true },
  });
  const child = t.startSpan(
    process.env.SPAN_NAME,
    { kind: SpanKind.CLIENT, attributes: { "http.status_code": 500, big: 2 ** 53 } },
    trace.setSpan(context.active(), root),
  );
  child.addEvent("retry", { attempt: 1 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: "upstream failed" });
  child.end();
  root.end();
  loggers.getLogger("interop").emit({
    body: `handled ${requestId} \u{1F600}`,
    severityText: "INFO",
    severityNumber: 9,
    attributes: { "faas.invocation_id": requestId },
  });
  await tracer.forceFlush();
  await loggers.forceFlush();
  await tracer.shutdown();
  await loggers.shutdown();
  if (failures.length) {
    console.error(failures.join("\n"));
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});
