"""CloudWatch Embedded Metric Format documents (what aws-lambda-powertools ``Metrics`` prints) → OTLP metrics.

Each metric of each ``CloudWatchMetrics`` directive becomes one OTLP metric named as in EMF. Its data points
carry the directive's dimensions (every key of every dimension set, with its value from the document) and the
namespace as ``aws.cloudwatch.namespace``. ``Count`` metrics become delta sums (one point per value); every
other unit becomes a gauge. A metric given as a list of values gets one data point per value. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from zerolag.extension.telemetry import otlp_build as ob

UNITS: Final[dict[str, str]] = {
    "Seconds": "s",
    "Microseconds": "us",
    "Milliseconds": "ms",
    "Bytes": "By",
    "Kilobytes": "kBy",
    "Megabytes": "MBy",
    "Gigabytes": "GBy",
    "Terabytes": "TBy",
    "Bits": "bit",
    "Kilobits": "kbit",
    "Megabits": "Mbit",
    "Gigabits": "Gbit",
    "Terabits": "Tbit",
    "Percent": "%",
    "Count": "1",
    "Bytes/Second": "By/s",
    "Kilobytes/Second": "kBy/s",
    "Megabytes/Second": "MBy/s",
    "Gigabytes/Second": "GBy/s",
    "Terabytes/Second": "TBy/s",
    "Bits/Second": "bit/s",
    "Kilobits/Second": "kbit/s",
    "Megabits/Second": "Mbit/s",
    "Gigabits/Second": "Gbit/s",
    "Terabits/Second": "Tbit/s",
    "Count/Second": "1/s",
    "None": "",
}
NAMESPACE_ATTR: Final = "aws.cloudwatch.namespace"


class EmfError(ValueError):
    """An EMF document that cannot be translated."""


def emf_to_metrics(
    doc: Mapping[str, Any], default_time_ns: int, request_id: str | None = None
) -> list[ob.JsonDict]:
    """The OTLP metrics of one EMF document (points tagged ``faas.invocation_id`` when ``request_id`` is
    given). Raises :class:`EmfError` when the document is malformed."""
    aws = doc.get("_aws")
    if not isinstance(aws, Mapping) or not isinstance(aws.get("CloudWatchMetrics"), list):
        raise EmfError("not an EMF document")
    time_ns = _time_ns(aws.get("Timestamp"), default_time_ns)
    out: list[ob.JsonDict] = []
    for directive in aws["CloudWatchMetrics"]:
        if not isinstance(directive, Mapping):
            raise EmfError("a CloudWatchMetrics directive is not an object")
        out.extend(_directive_metrics(doc, directive, time_ns, request_id))
    return out


def _time_ns(value: object, default_ns: int) -> int:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return int(value * 1_000_000)
    return default_ns


def _directive_metrics(
    doc: Mapping[str, Any], directive: Mapping[str, Any], time_ns: int, request_id: str | None
) -> list[ob.JsonDict]:
    attrs: dict[str, object] = {"faas.invocation_id": request_id} if request_id else {}
    namespace = directive.get("Namespace")
    if isinstance(namespace, str):
        attrs[NAMESPACE_ATTR] = namespace
    for dim_set in directive.get("Dimensions") or []:
        if not isinstance(dim_set, list):
            raise EmfError("a dimension set is not a list")
        for key in dim_set:
            value = doc.get(key) if isinstance(key, str) else None
            if value is not None:
                attrs[key] = value if isinstance(value, (str, int, float, bool)) else str(value)
    out = []
    for definition in directive.get("Metrics") or []:
        metric = _metric(doc, definition, time_ns, attrs)
        if metric is not None:
            out.append(metric)
    return out


def _values(raw: object) -> list[float]:
    items = raw if isinstance(raw, list) else [raw]
    values: list[float] = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise EmfError("a metric value is not a number")
        values.append(item)
    return values


def _metric(
    doc: Mapping[str, Any], definition: object, time_ns: int, attrs: Mapping[str, object]
) -> ob.JsonDict | None:
    if not isinstance(definition, Mapping) or not isinstance(definition.get("Name"), str):
        raise EmfError("a metric definition has no Name")
    name: str = definition["Name"]
    if name not in doc:
        return None
    values = _values(doc[name])
    if not values:
        return None
    unit_name = definition.get("Unit", "None")
    unit = UNITS.get(unit_name, unit_name if isinstance(unit_name, str) else "")
    points: list[ob.JsonDict] = []
    for value in values:
        metric = ob.gauge(name, unit, time_ns, value, attrs)
        points.extend(metric["gauge"]["dataPoints"])
    if unit_name == "Count":
        for point in points:
            point["startTimeUnixNano"] = time_ns
        return {
            "name": name,
            "unit": unit,
            "sum": {
                "dataPoints": points,
                "aggregationTemporality": ob.TEMPORALITY_DELTA,
                "isMonotonic": all(v >= 0 for v in values),
            },
        }
    return {"name": name, "unit": unit, "gauge": {"dataPoints": points}}
