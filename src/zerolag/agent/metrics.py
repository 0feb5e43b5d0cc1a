"""The metrics API: counters, gauges and histograms with dimensions, aggregated per invocation (delta).

``counter("orders", 1, unit="{order}", region="eu")``, ``gauge("queue.depth", 12)``,
``histogram("db.latency", 3.2, unit="ms")``. Points are aggregated in memory (bounded by ``MAX_SERIES``) and
exported at the end of each invocation with the built-in ``faas.*`` metrics.
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MAX_SERIES = 2000
DEFAULT_BOUNDS = (
    0.0,
    5.0,
    10.0,
    25.0,
    50.0,
    75.0,
    100.0,
    250.0,
    500.0,
    750.0,
    1000.0,
    2500.0,
    5000.0,
    10000.0,
)
SECONDS_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)

Key = tuple[str, str, str]  # (kind, name, unit)


class Aggregator:
    """The series of one collection interval; ``take()`` returns them and starts a new interval."""

    __slots__ = ("_lock", "bounds", "collectors", "dropped", "series", "size")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self.series: dict[Key, dict[tuple[tuple[str, Any], ...], Any]] = {}
        self.bounds: dict[str, tuple[float, ...]] = {}
        self.size = 0
        self.dropped = 0
        # Callables returning ready (name, unit, kind, points) items, e.g. the built-in invocation metrics.
        self.collectors: list[Callable[[], list[Any]]] = []

    def _points(self, key: Key) -> dict[tuple[tuple[str, Any], ...], Any]:
        points = self.series.get(key)
        if points is None:
            points = self.series[key] = {}
        return points

    def record(self, kind: str, name: str, unit: str, value: float, dims: dict[str, Any]) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        dim_key = tuple(sorted(dims.items())) if dims else ()
        with self._lock:
            points = self._points((kind, name, unit))
            current: Any = points.get(dim_key)
            if current is None:
                if self.size >= MAX_SERIES:
                    self.dropped += 1
                    return
                self.size += 1
                if kind == "histogram":
                    bounds = self.bounds.get(name, DEFAULT_BOUNDS)
                    current = points[dim_key] = [0, 0.0, value, value, bounds, [0] * (len(bounds) + 1)]
            if kind == "counter":
                points[dim_key] = (current or 0) + value
            elif kind == "gauge":
                points[dim_key] = value
            else:
                from bisect import bisect_left

                current[0] += 1
                current[1] += value
                current[2] = min(current[2], value)
                current[3] = max(current[3], value)
                current[5][bisect_left(current[4], value)] += 1

    def take(self) -> list[tuple[str, str, str, list[tuple[dict[str, Any], Any]]]]:
        """(name, unit, kind, [(dimensions, value)]) for every series of the interval; starts a new one."""
        with self._lock:
            series, self.series, self.size = self.series, {}, 0
        out = []
        for (kind, name, unit), points in series.items():
            out.append((name, unit, kind, [(dict(k), v) for k, v in points.items()]))
        for collect in self.collectors:
            out.extend(collect())
        return out


def histogram_point(values: list[float], bounds: tuple[float, ...]) -> list[Any]:
    """[count, sum, min, max, bounds, bucket counts] of ``values`` (non-empty)."""
    from bisect import bisect_left

    counts = [0] * (len(bounds) + 1)
    for v in values:
        counts[bisect_left(bounds, v)] += 1
    return [len(values), float(sum(values)), min(values), max(values), bounds, counts]


class InvocationMetrics:
    """The built-in ``faas.*`` metrics, kept as plain counters per trigger (cheap on the handler's path)
    and turned into metric items when the exporter takes them."""

    def __init__(self) -> None:
        self.by_trigger: dict[str, list[Any]] = {}

    def row(self, trigger: str) -> list[Any]:
        row = self.by_trigger.get(trigger)
        if row is None:
            row = self.by_trigger[trigger] = [
                0,
                0,
                0,
                0,
                [],
            ]  # invocations, cold, errors, timeouts, durations
        return row

    def take(self) -> list[Any]:
        taken, self.by_trigger = self.by_trigger, {}
        names = (
            ("faas.invocations", "{invocation}"),
            ("faas.coldstarts", "{coldstart}"),
            ("faas.errors", "{error}"),
            ("faas.timeouts", "{timeout}"),
        )
        items: list[Any] = []
        for i, (name, unit) in enumerate(names):
            points = [({"faas.trigger": t}, row[i]) for t, row in taken.items() if row[i]]
            if points:
                items.append((name, unit, "counter", points))
        durations = [
            ({"faas.trigger": t}, histogram_point(row[4], SECONDS_BOUNDS))
            for t, row in taken.items()
            if row[4]
        ]
        if durations:
            items.append(("faas.invoke_duration", "s", "histogram", durations))
        return items


aggregator = Aggregator()


def counter(name: str, value: float = 1, unit: str = "", **dimensions: Any) -> None:
    """Add ``value`` to a monotonic sum."""
    aggregator.record("counter", name, unit, value, dimensions)


def gauge(name: str, value: float, unit: str = "", **dimensions: Any) -> None:
    """Set the last value of a gauge."""
    aggregator.record("gauge", name, unit, value, dimensions)


def histogram(name: str, value: float, unit: str = "", **dimensions: Any) -> None:
    """Record a value in a histogram (explicit buckets; see ``set_histogram_bounds``)."""
    aggregator.record("histogram", name, unit, value, dimensions)


def set_histogram_bounds(name: str, bounds: tuple[float, ...]) -> None:
    """Bucket boundaries for the histogram ``name`` (from its next new series)."""
    aggregator.bounds[name] = tuple(sorted(bounds))


aggregator.bounds["faas.invoke_duration"] = SECONDS_BOUNDS
