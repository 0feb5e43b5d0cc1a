"""The OTLP 1.x messages as data: one table drives the protobuf codec, the JSON codec and the wire walker.

Each message is a tuple of fields ``(number, json_name, kind, flags)``. ``kind`` is a scalar kind below or
the name of another message. Flags: ``REP`` repeated, ``PRES`` the field has presence (oneof members,
``optional`` fields, singular messages), so it is kept on encode and decode even when it holds the default.

Not modelled (skipped as unknown fields on decode): ``Resource.entity_refs`` and the profiles-only
``*_strindex`` fields of ``KeyValue`` and ``AnyValue``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing (and re with it) costs cold-start time
if TYPE_CHECKING:
    from typing import Final


# Scalar kinds (wire type in brackets).
STRING: Final = "string"  # [2] UTF-8
ID16: Final = "id16"  # [2] 16-byte trace id, hex in the dict form
ID8: Final = "id8"  # [2] 8-byte span id, hex in the dict form
B64: Final = "b64"  # [2] bytes, base64 in the dict form
UINT32: Final = "uint32"  # [0]
ENUM: Final = "enum"  # [0] int32
INT64: Final = "int64"  # [0]
UINT64: Final = "uint64"  # [0]
SINT32: Final = "sint32"  # [0] zigzag
BOOL: Final = "bool"  # [0]
FIXED64: Final = "fixed64"  # [1]
SFIXED64: Final = "sfixed64"  # [1]
DOUBLE: Final = "double"  # [1]
FIXED32: Final = "fixed32"  # [5]

WIRE_TYPE: Final[dict[str, int]] = {
    STRING: 2,
    ID16: 2,
    ID8: 2,
    B64: 2,
    UINT32: 0,
    ENUM: 0,
    INT64: 0,
    UINT64: 0,
    SINT32: 0,
    BOOL: 0,
    FIXED64: 1,
    SFIXED64: 1,
    DOUBLE: 1,
    FIXED32: 5,
}
# Kinds held as 64-bit integers: strings in OTLP/JSON.
INT64_KINDS: Final = frozenset({INT64, UINT64, FIXED64, SFIXED64})

REP: Final = 1
PRES: Final = 2

Field = tuple[int, str, str, int]


def _attrs(number: int, name: str = "attributes") -> Field:
    return (number, name, "KeyValue", REP)


MESSAGES: Final[dict[str, tuple[Field, ...]]] = {
    # common/v1
    "AnyValue": (
        (1, "stringValue", STRING, PRES),
        (2, "boolValue", BOOL, PRES),
        (3, "intValue", INT64, PRES),
        (4, "doubleValue", DOUBLE, PRES),
        (5, "arrayValue", "ArrayValue", PRES),
        (6, "kvlistValue", "KeyValueList", PRES),
        (7, "bytesValue", B64, PRES),
    ),
    "ArrayValue": ((1, "values", "AnyValue", REP),),
    "KeyValueList": ((1, "values", "KeyValue", REP),),
    "KeyValue": ((1, "key", STRING, 0), (2, "value", "AnyValue", PRES)),
    "InstrumentationScope": (
        (1, "name", STRING, 0),
        (2, "version", STRING, 0),
        _attrs(3),
        (4, "droppedAttributesCount", UINT32, 0),
    ),
    "Resource": (_attrs(1), (2, "droppedAttributesCount", UINT32, 0)),
    # trace/v1
    "ExportTraceServiceRequest": ((1, "resourceSpans", "ResourceSpans", REP),),
    "ResourceSpans": (
        (1, "resource", "Resource", PRES),
        (2, "scopeSpans", "ScopeSpans", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "ScopeSpans": (
        (1, "scope", "InstrumentationScope", PRES),
        (2, "spans", "Span", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "Span": (
        (1, "traceId", ID16, 0),
        (2, "spanId", ID8, 0),
        (3, "traceState", STRING, 0),
        (4, "parentSpanId", ID8, 0),
        (16, "flags", FIXED32, 0),
        (5, "name", STRING, 0),
        (6, "kind", ENUM, 0),
        (7, "startTimeUnixNano", FIXED64, 0),
        (8, "endTimeUnixNano", FIXED64, 0),
        _attrs(9),
        (10, "droppedAttributesCount", UINT32, 0),
        (11, "events", "Event", REP),
        (12, "droppedEventsCount", UINT32, 0),
        (13, "links", "Link", REP),
        (14, "droppedLinksCount", UINT32, 0),
        (15, "status", "Status", PRES),
    ),
    "Event": (
        (1, "timeUnixNano", FIXED64, 0),
        (2, "name", STRING, 0),
        _attrs(3),
        (4, "droppedAttributesCount", UINT32, 0),
    ),
    "Link": (
        (1, "traceId", ID16, 0),
        (2, "spanId", ID8, 0),
        (3, "traceState", STRING, 0),
        _attrs(4),
        (5, "droppedAttributesCount", UINT32, 0),
        (6, "flags", FIXED32, 0),
    ),
    "Status": ((2, "message", STRING, 0), (3, "code", ENUM, 0)),
    # metrics/v1
    "ExportMetricsServiceRequest": ((1, "resourceMetrics", "ResourceMetrics", REP),),
    "ResourceMetrics": (
        (1, "resource", "Resource", PRES),
        (2, "scopeMetrics", "ScopeMetrics", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "ScopeMetrics": (
        (1, "scope", "InstrumentationScope", PRES),
        (2, "metrics", "Metric", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "Metric": (
        (1, "name", STRING, 0),
        (2, "description", STRING, 0),
        (3, "unit", STRING, 0),
        (5, "gauge", "Gauge", PRES),
        (7, "sum", "Sum", PRES),
        (9, "histogram", "Histogram", PRES),
        (10, "exponentialHistogram", "ExponentialHistogram", PRES),
        (11, "summary", "Summary", PRES),
        _attrs(12, "metadata"),
    ),
    "Gauge": ((1, "dataPoints", "NumberDataPoint", REP),),
    "Sum": (
        (1, "dataPoints", "NumberDataPoint", REP),
        (2, "aggregationTemporality", ENUM, 0),
        (3, "isMonotonic", BOOL, 0),
    ),
    "Histogram": (
        (1, "dataPoints", "HistogramDataPoint", REP),
        (2, "aggregationTemporality", ENUM, 0),
    ),
    "ExponentialHistogram": (
        (1, "dataPoints", "ExponentialHistogramDataPoint", REP),
        (2, "aggregationTemporality", ENUM, 0),
    ),
    "Summary": ((1, "dataPoints", "SummaryDataPoint", REP),),
    "NumberDataPoint": (
        _attrs(7),
        (2, "startTimeUnixNano", FIXED64, 0),
        (3, "timeUnixNano", FIXED64, 0),
        (4, "asDouble", DOUBLE, PRES),
        (6, "asInt", SFIXED64, PRES),
        (5, "exemplars", "Exemplar", REP),
        (8, "flags", UINT32, 0),
    ),
    "HistogramDataPoint": (
        _attrs(9),
        (2, "startTimeUnixNano", FIXED64, 0),
        (3, "timeUnixNano", FIXED64, 0),
        (4, "count", FIXED64, 0),
        (5, "sum", DOUBLE, PRES),
        (6, "bucketCounts", FIXED64, REP),
        (7, "explicitBounds", DOUBLE, REP),
        (8, "exemplars", "Exemplar", REP),
        (10, "flags", UINT32, 0),
        (11, "min", DOUBLE, PRES),
        (12, "max", DOUBLE, PRES),
    ),
    "ExponentialHistogramDataPoint": (
        _attrs(1),
        (2, "startTimeUnixNano", FIXED64, 0),
        (3, "timeUnixNano", FIXED64, 0),
        (4, "count", FIXED64, 0),
        (5, "sum", DOUBLE, PRES),
        (6, "scale", SINT32, 0),
        (7, "zeroCount", FIXED64, 0),
        (8, "positive", "Buckets", PRES),
        (9, "negative", "Buckets", PRES),
        (10, "flags", UINT32, 0),
        (11, "exemplars", "Exemplar", REP),
        (12, "min", DOUBLE, PRES),
        (13, "max", DOUBLE, PRES),
        (14, "zeroThreshold", DOUBLE, 0),
    ),
    "Buckets": ((1, "offset", SINT32, 0), (2, "bucketCounts", UINT64, REP)),
    "SummaryDataPoint": (
        _attrs(7),
        (2, "startTimeUnixNano", FIXED64, 0),
        (3, "timeUnixNano", FIXED64, 0),
        (4, "count", FIXED64, 0),
        (5, "sum", DOUBLE, 0),
        (6, "quantileValues", "ValueAtQuantile", REP),
        (8, "flags", UINT32, 0),
    ),
    "ValueAtQuantile": ((1, "quantile", DOUBLE, 0), (2, "value", DOUBLE, 0)),
    "Exemplar": (
        _attrs(7, "filteredAttributes"),
        (2, "timeUnixNano", FIXED64, 0),
        (3, "asDouble", DOUBLE, PRES),
        (6, "asInt", SFIXED64, PRES),
        (4, "spanId", ID8, 0),
        (5, "traceId", ID16, 0),
    ),
    # logs/v1
    "ExportLogsServiceRequest": ((1, "resourceLogs", "ResourceLogs", REP),),
    "ResourceLogs": (
        (1, "resource", "Resource", PRES),
        (2, "scopeLogs", "ScopeLogs", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "ScopeLogs": (
        (1, "scope", "InstrumentationScope", PRES),
        (2, "logRecords", "LogRecord", REP),
        (3, "schemaUrl", STRING, 0),
    ),
    "LogRecord": (
        (1, "timeUnixNano", FIXED64, 0),
        (11, "observedTimeUnixNano", FIXED64, 0),
        (2, "severityNumber", ENUM, 0),
        (3, "severityText", STRING, 0),
        (5, "body", "AnyValue", PRES),
        _attrs(6),
        (7, "droppedAttributesCount", UINT32, 0),
        (8, "flags", FIXED32, 0),
        (9, "traceId", ID16, 0),
        (10, "spanId", ID8, 0),
        (12, "eventName", STRING, 0),
    ),
}

# Oneof groups: setting one member clears the others.
ONEOFS: Final[dict[str, tuple[str, ...]]] = {
    "AnyValue": (
        "stringValue",
        "boolValue",
        "intValue",
        "doubleValue",
        "arrayValue",
        "kvlistValue",
        "bytesValue",
    ),
    "Metric": ("gauge", "sum", "histogram", "exponentialHistogram", "summary"),
    "NumberDataPoint": ("asDouble", "asInt"),
    "Exemplar": ("asDouble", "asInt"),
}

REQUEST_MESSAGE: Final[dict[str, str]] = {
    "traces": "ExportTraceServiceRequest",
    "metrics": "ExportMetricsServiceRequest",
    "logs": "ExportLogsServiceRequest",
}

# Enum names for OTLP/JSON (receivers accept names as well as numbers).
ENUM_NAMES: Final[dict[str, dict[str, int]]] = {
    "kind": {
        "SPAN_KIND_UNSPECIFIED": 0,
        "SPAN_KIND_INTERNAL": 1,
        "SPAN_KIND_SERVER": 2,
        "SPAN_KIND_CLIENT": 3,
        "SPAN_KIND_PRODUCER": 4,
        "SPAN_KIND_CONSUMER": 5,
    },
    "code": {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2},
    "aggregationTemporality": {
        "AGGREGATION_TEMPORALITY_UNSPECIFIED": 0,
        "AGGREGATION_TEMPORALITY_DELTA": 1,
        "AGGREGATION_TEMPORALITY_CUMULATIVE": 2,
    },
    "severityNumber": {
        "SEVERITY_NUMBER_UNSPECIFIED": 0,
        **{
            f"SEVERITY_NUMBER_{level}{suffix}": 1 + 4 * i + j
            for i, level in enumerate(("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"))
            for j, suffix in enumerate(("", "2", "3", "4"))
        },
    },
}
