"""A function already instrumented with the OpenTelemetry API: with zerolag, its spans join zerolag's trace
(zerolag registers as the tracer provider when the function imports opentelemetry)."""

from __future__ import annotations

from opentelemetry import trace

tracer = trace.get_tracer("shop")


def handler(event: dict, context: object) -> dict:
    with tracer.start_as_current_span("otel-parent") as parent:
        parent.set_attribute("shop.cart", 3)
        with tracer.start_as_current_span("otel-child", kind=trace.SpanKind.CLIENT):
            pass
    return {"ok": True}
