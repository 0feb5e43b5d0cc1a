"""aws-lambda-powertools Metrics: EMF lines on stdout, which the zerolag extension turns into OTLP metrics."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

metrics = Metrics(namespace="Shop", service="checkout")


@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    items = int(event.get("items", 1))
    metrics.add_dimension(name="channel", value=str(event.get("channel", "web")))
    metrics.add_metric(name="CartItems", unit=MetricUnit.Count, value=items)
    metrics.add_metric(name="CartValue", unit=MetricUnit.NoUnit, value=items * 12.5)
    return {"items": items}
