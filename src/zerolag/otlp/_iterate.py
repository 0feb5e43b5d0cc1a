"""Flat iteration over the items of an export request, for consumers such as the collector."""

from __future__ import annotations

from zerolag.otlp._values import attributes_to_dict

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from typing import Any

    Dict = dict[str, Any]

METRIC_KINDS = ("gauge", "sum", "histogram", "exponentialHistogram", "summary")


def _scoped(
    request: Mapping[str, Any], top: str, scoped: str, items: str
) -> Iterator[tuple[Dict, Dict, Dict]]:
    for res in request.get(top, ()):
        resource_attrs = attributes_to_dict(res.get("resource", {}).get("attributes", ()))
        for scope_block in res.get(scoped, ()):
            scope = scope_block.get("scope", {})
            for item in scope_block.get(items, ()):
                yield resource_attrs, scope, item


def iter_spans(request: Mapping[str, Any]) -> Iterator[tuple[Dict, Dict, Dict]]:
    """Yield ``(resource attributes as a plain dict, scope dict, span dict)`` for every span."""
    return _scoped(request, "resourceSpans", "scopeSpans", "spans")


def iter_log_records(request: Mapping[str, Any]) -> Iterator[tuple[Dict, Dict, Dict]]:
    """Yield ``(resource attributes as a plain dict, scope dict, log record dict)`` for every record."""
    return _scoped(request, "resourceLogs", "scopeLogs", "logRecords")


def iter_metric_points(request: Mapping[str, Any]) -> Iterator[tuple[Dict, Dict, Dict, str, Dict]]:
    """Yield ``(resource attributes, scope, metric, kind, data point)`` for every data point.

    ``kind`` is the metric's type key ("gauge", "sum", "histogram", "exponentialHistogram" or "summary");
    the metric dict gives the name, unit and ``metric[kind]`` the temporality.
    """
    for resource_attrs, scope, metric in _scoped(request, "resourceMetrics", "scopeMetrics", "metrics"):
        for kind in METRIC_KINDS:
            data = metric.get(kind)
            if data is not None:
                for point in data.get("dataPoints", ()):
                    yield resource_attrs, scope, metric, kind, point
