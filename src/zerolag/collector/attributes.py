"""OTLP attributes in the dict form, and the names the collector reads invocation facts from.

The names follow the OpenTelemetry FaaS semantic conventions first (``faas.invocation_id``,
``faas.coldstart``, ``faas.trigger``, ``faas.name``); the other aliases are what Lambda tooling (zerolag's
extension among it) emits. One table here, documented in docs/collector.md.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

Attributes = dict[str, Any]

REQUEST_ID_KEYS: Final = (
    "faas.invocation_id",
    "faas.execution",
    "aws.lambda.request_id",
    "aws.request_id",
    "lambda.request_id",
    "request_id",
    "requestId",
)
FUNCTION_KEYS: Final = ("faas.name", "aws.lambda.function_name", "service.name")
TRIGGER_KEYS: Final = ("faas.trigger", "aws.lambda.trigger")
COLD_START_KEYS: Final = ("faas.coldstart", "aws.lambda.cold_start", "cold_start")
ERROR_TYPE_KEYS: Final = ("error.type", "faas.error_type", "aws.lambda.error_type", "exception.type")
STATUS_KEYS: Final = ("faas.status", "aws.lambda.status", "lambda.status")
OOM_KEYS: Final = ("aws.lambda.out_of_memory",)
TIMEOUT_KEYS: Final = ("zerolag.timeout",)

# status -> rank: a later, more severe report of an invocation wins over an earlier, milder one.
STATUS_RANK: Final = {"ok": 0, "error": 1, "timeout": 2, "oom": 3}


def any_value(value: Mapping[str, Any] | None) -> Any:
    """The Python value of an OTLP ``AnyValue`` in the dict form."""
    if not value:
        return None
    for key in ("stringValue", "boolValue", "intValue", "doubleValue"):
        if key in value:
            return value[key]
    if "arrayValue" in value:
        return [any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return to_dict(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        raw = value["bytesValue"]
        return base64.b64decode(raw).hex() if isinstance(raw, str) else bytes(raw).hex()
    return None


def to_dict(attributes: Iterable[Mapping[str, Any]] | None) -> Attributes:
    """``[{"key", "value"}]`` as a plain dict."""
    return {kv["key"]: any_value(kv.get("value")) for kv in attributes or () if "key" in kv}


def first(attrs: Mapping[str, Any], keys: Iterable[str]) -> Any:
    """The value of the first of ``keys`` present (and not empty) in ``attrs``."""
    for key in keys:
        value = attrs.get(key)
        if value not in (None, ""):
            return value
    return None


def function_name(resource: Mapping[str, Any]) -> str | None:
    """The function a resource describes: ``faas.name``, else ``service.name``, else the ARN's last part."""
    name = first(resource, FUNCTION_KEYS)
    if name is None and isinstance(resource.get("cloud.resource_id"), str):
        name = resource["cloud.resource_id"].rsplit(":", 1)[-1]
    return None if name is None else str(name)


def as_bool(value: Any) -> bool | None:
    """A boolean attribute that some emitters send as a string or a number."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def classify_error(error_type: str | None, status_word: str | None = None, message: str | None = None) -> str:
    """``timeout``, ``oom`` or ``error`` for a failed invocation, from the platform's words only.

    A handler's own ``ReadTimeout`` is an ``error``; only Lambda's ``Sandbox.Timedout``, a ``timeout`` status,
    or its "Task timed out" message make a ``timeout``.
    """
    kind = (error_type or "").lower()
    word = (status_word or "").strip().lower()
    text = (message or "").strip().lower()
    if "outofmemory" in kind or word in ("oom", "outofmemory", "out_of_memory"):
        return "oom"
    if (
        "timedout" in kind
        or word in ("timeout", "timedout")
        or text.startswith(("timeout", "task timed out"))
    ):
        return "timeout"
    return "error"


def normalise(name: str) -> str:
    """A metric name reduced to lowercase letters and digits, for alias matching."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# normalised metric name -> invocation fact. Kept explicit so no unrelated "duration" metric is misread.
METRIC_FACTS: Final = {
    **dict.fromkeys(
        ("faasinvokeduration", "faasduration", "awslambdaduration", "awslambdadurationms", "duration"),
        "duration_ms",
    ),
    **dict.fromkeys(
        ("faasbilledduration", "awslambdabilledduration", "awslambdabilleddurationms", "billedduration"),
        "billed_ms",
    ),
    **dict.fromkeys(
        ("faasinitduration", "awslambdainitduration", "awslambdainitdurationms", "initduration"), "init_ms"
    ),
    **dict.fromkeys(
        (
            "faasmemusage",
            "faasmaxmemoryused",
            "awslambdamaxmemoryused",
            "awslambdamaxmemoryusedmb",
            "awslambdamemoryused",
            "maxmemoryused",
        ),
        "memory_used_mb",
    ),
    **dict.fromkeys(
        ("faasmaxmemory", "faasmemorysize", "awslambdamemorysize", "awslambdamemorysizemb", "memorysize"),
        "memory_size_mb",
    ),
    **dict.fromkeys(("faascoldstarts", "faascoldstart", "awslambdacoldstart", "coldstart"), "cold_start"),
    # counters that say how the invocation ended
    "faaserrors": "status:error",
    "faastimeouts": "status:timeout",
    "awslambdaoutofmemory": "status:oom",
}

# span attribute -> invocation fact (value in ms or MB unless the name says otherwise).
SPAN_FACT_KEYS: Final = {
    "aws.lambda.billed_duration_ms": "billed_ms",
    "aws.lambda.billed_duration": "billed_ms",
    "aws.lambda.duration_ms": "duration_ms",
    "aws.lambda.init_duration_ms": "init_ms",
    "aws.lambda.max_memory_used_mb": "memory_used_mb",
    "aws.lambda.memory_size_mb": "memory_size_mb",
    "faas.max_memory": "memory_size_bytes",
}

_TIME_UNITS: Final = {"s": 1000.0, "ms": 1.0, "us": 0.001, "ns": 0.000001}
_MEMORY_UNITS: Final = {
    "by": 1 / 1048576,
    "kiby": 1 / 1024,
    "kib": 1 / 1024,
    "miby": 1.0,
    "mib": 1.0,
    "mb": 1.0,
}


def scale(fact: str, value: float, unit: str) -> float:
    """``value`` in ms (times) or MB (memory) given the metric's OTLP unit; no unit means ms / MB."""
    unit = unit.strip("{}").lower()
    if fact.endswith("_ms"):
        return value * _TIME_UNITS.get(unit, 1.0)
    if fact.endswith("_mb"):
        return value * _MEMORY_UNITS.get(unit, 1.0)
    return value
