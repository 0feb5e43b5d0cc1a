"""Self-telemetry counters: what the extension received, sent, retried, dropped, spooled and risked
duplicating.

Thread-safe. ``snapshot`` gives a copy for the JSON log line; ``metrics_request`` builds the OTLP metrics
request (cumulative monotonic sums ``zerolag.extension.<name>``, unit ``{item}``) exported alongside the data.
"""

from __future__ import annotations

import threading
from typing import Any, Final

# Every item the receivers accept ends in ``sent`` or in exactly one of these, each also added to ``dropped``
# (their total). docs/extension.md lists them with the delivery guarantee.
LOSSES: Final = (
    "dropped_no_backend",  # ZEROLAG_OTLP_ENDPOINT is not set
    "dropped_refused",  # the backend refused the request itself (400 or another non-retryable 4xx)
    "dropped_too_large",  # the backend refused (413) one request that cannot be split further
    "dropped_spool_full",  # evicted from the full disk spool, or larger than the whole spool
    "dropped_disk_error",  # the spool could not be written (disk full, read-only)
)
CORE: Final = (
    "received",  # items accepted by the receivers (spans, data points, log records)
    "sent",  # items acknowledged by the backend
    "retried",  # items in attempts that had to be retried
    "dropped",  # items lost for good: the sum of the LOSSES counters
    *LOSSES,
    "spooled",  # items written to the disk spool
    "unspooled",  # items read back from the spool
    "duplicate_risk",  # items resent after an attempt the backend may have received
    "rejected",  # requests refused as malformed (400)
    "abandoned",  # sends abandoned before a freeze (resent later)
    "split",  # batches split after a 400/413 from the backend, to isolate the refused part
    "sender_errors",  # unexpected exceptions caught in a sender thread (the batch is kept and retried)
    "shutdown_unsent",  # items not sent by the SHUTDOWN deadline (left in the spool; lost at a spindown)
)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = dict.fromkeys(CORE, 0)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + n

    def lose(self, reason: str, n: int) -> None:
        """Count ``n`` items lost for ``reason`` (one of ``LOSSES``), and in the ``dropped`` total."""
        with self._lock:
            self._values[reason] = self._values.get(reason, 0) + n
            self._values["dropped"] = self._values.get("dropped", 0) + n

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


def metrics_request(
    values: dict[str, int], start_ns: int, now_ns: int, resource: dict[str, Any]
) -> dict[str, Any]:
    """The counters as an OTLP metrics request in the dict form of ``zerolag.otlp``."""
    metrics = [
        {
            "name": f"zerolag.extension.{name}",
            "unit": "{item}",
            "sum": {
                "dataPoints": [{"startTimeUnixNano": start_ns, "timeUnixNano": now_ns, "asInt": value}],
                "aggregationTemporality": 2,  # cumulative
                "isMonotonic": True,
            },
        }
        for name, value in sorted(values.items())
    ]
    return {
        "resourceMetrics": [
            {
                "resource": resource,
                "scopeMetrics": [
                    {"scope": {"name": "zerolag.extension", "version": "0.1.0"}, "metrics": metrics}
                ],
            }
        ]
    }


def resource_from_env(env: dict[str, str] | Any) -> dict[str, Any]:
    """``service.name`` and the FaaS attributes Lambda's environment tells."""
    pairs = {
        "service.name": env.get("OTEL_SERVICE_NAME") or env.get("AWS_LAMBDA_FUNCTION_NAME") or "lambda",
        "faas.name": env.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        "faas.version": env.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
        "cloud.region": env.get("AWS_REGION", ""),
        "cloud.provider": "aws",
        "telemetry.sdk.name": "zerolag.extension",
    }
    return {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in pairs.items() if v]}
