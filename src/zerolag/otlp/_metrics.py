"""Metric builders in the OTLP dict form: data points, the five metric types, resources and requests."""

from __future__ import annotations

from zerolag.otlp._values import attributes, put, resource, scope

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    Dict = dict[str, Any]

_CUMULATIVE = 2


def number_point(
    value: float,
    time_ns: int,
    attrs: Mapping[str, Any] | None = None,
    *,
    start_ns: int = 0,
    flags: int = 0,
    exemplars: list[Dict] | None = None,
) -> Dict:
    """A ``NumberDataPoint``: ``asInt`` for an ``int`` value, ``asDouble`` for a float."""
    out = put({}, attributes=attributes(attrs), startTimeUnixNano=start_ns, timeUnixNano=time_ns)
    if isinstance(value, int) and not isinstance(value, bool):
        out["asInt"] = value
    else:
        out["asDouble"] = float(value)
    return put(out, exemplars=exemplars, flags=flags)


def histogram_point(
    time_ns: int,
    count: int,
    bucket_counts: Sequence[int],
    explicit_bounds: Sequence[float],
    attrs: Mapping[str, Any] | None = None,
    *,
    total: float | None = None,
    start_ns: int = 0,
    min: float | None = None,
    max: float | None = None,
    flags: int = 0,
) -> Dict:
    """A ``HistogramDataPoint``; ``len(bucket_counts) == len(explicit_bounds) + 1``; ``total`` is its sum."""
    out = put(
        {},
        attributes=attributes(attrs),
        startTimeUnixNano=start_ns,
        timeUnixNano=time_ns,
        count=count,
        bucketCounts=list(bucket_counts),
        explicitBounds=[float(b) for b in explicit_bounds],
        flags=flags,
    )
    for key, value in (("sum", total), ("min", min), ("max", max)):
        if value is not None:
            out[key] = float(value)
    return out


def summary_point(
    time_ns: int,
    count: int,
    total: float,
    quantiles: Mapping[float, float],
    attrs: Mapping[str, Any] | None = None,
    *,
    start_ns: int = 0,
) -> Dict:
    """A ``SummaryDataPoint``; ``quantiles`` maps quantile (0..1) to value."""
    values = [put({}, quantile=float(q), value=float(v)) for q, v in quantiles.items()]
    return put(
        {},
        attributes=attributes(attrs),
        startTimeUnixNano=start_ns,
        timeUnixNano=time_ns,
        count=count,
        sum=float(total),
        quantileValues=values,
    )


def _metric(name: str, unit: str, description: str, kind: str, data: Dict) -> Dict:
    return put({}, name=name, description=description, unit=unit) | {kind: data}


def gauge(name: str, points: list[Dict], *, unit: str = "", description: str = "") -> Dict:
    """A gauge metric of ``number_point`` data points."""
    return _metric(name, unit, description, "gauge", put({}, dataPoints=points))


def sum_(
    name: str,
    points: list[Dict],
    *,
    monotonic: bool = True,
    temporality: int = _CUMULATIVE,
    unit: str = "",
    description: str = "",
) -> Dict:
    """A sum (counter) metric of ``number_point`` data points. Exported by ``model`` as ``sum``."""
    data = put({}, dataPoints=points, aggregationTemporality=temporality, isMonotonic=monotonic)
    return _metric(name, unit, description, "sum", data)


def histogram(
    name: str, points: list[Dict], *, temporality: int = _CUMULATIVE, unit: str = "", description: str = ""
) -> Dict:
    """A histogram metric of ``histogram_point`` data points."""
    data = put({}, dataPoints=points, aggregationTemporality=temporality)
    return _metric(name, unit, description, "histogram", data)


def exponential_histogram(
    name: str, points: list[Dict], *, temporality: int = _CUMULATIVE, unit: str = "", description: str = ""
) -> Dict:
    """An exponential histogram metric; its points are ``ExponentialHistogramDataPoint`` dicts."""
    data = put({}, dataPoints=points, aggregationTemporality=temporality)
    return _metric(name, unit, description, "exponentialHistogram", data)


def summary(name: str, points: list[Dict], *, unit: str = "", description: str = "") -> Dict:
    """A summary metric of ``summary_point`` data points."""
    return _metric(name, unit, description, "summary", put({}, dataPoints=points))


def resource_metrics(
    resource_attrs: Mapping[str, Any] | None,
    scope_name: str,
    metrics: list[Dict],
    *,
    scope_version: str = "",
    schema_url: str = "",
) -> Dict:
    """One resource with one instrumentation scope holding ``metrics``."""
    scope_metrics = put({"scope": scope(scope_name, scope_version)}, metrics=metrics)
    return put({"resource": resource(resource_attrs)}, scopeMetrics=[scope_metrics], schemaUrl=schema_url)


def metrics_request(*resources: Dict) -> Dict:
    """An ``ExportMetricsServiceRequest`` from ``resource_metrics(...)`` dicts."""
    return put({}, resourceMetrics=list(resources))
