"""AWS SDK spans: one per API call (``BaseClient._make_api_call``), with service, operation, region, AWS
request id and errors, and trace propagation into SQS/SNS message attributes and Lambda's client context.
The HTTP requests underneath are suppressed (the API call is the span).
"""

from __future__ import annotations

from zerolag.agent import spans

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

_PRODUCER_OPS = {
    ("sqs", "SendMessage"),
    ("sqs", "SendMessageBatch"),
    ("sns", "Publish"),
    ("sns", "PublishBatch"),
}
_MAX_MESSAGE_ATTRIBUTES = 10


def _with_traceparent(attrs: Any, traceparent: str) -> Any:
    """A copy of a MessageAttributes map with ``traceparent`` added (if there is room and it is absent)."""
    attrs = dict(attrs or {})
    if "traceparent" not in attrs and len(attrs) < _MAX_MESSAGE_ATTRIBUTES:
        attrs["traceparent"] = {"DataType": "String", "StringValue": traceparent}
    return attrs


def _client_context(raw: Any, traceparent: str) -> str:
    import base64
    import json

    ctx: dict[str, Any] = {}
    if isinstance(raw, str) and raw:
        try:
            ctx = json.loads(base64.b64decode(raw))
        except ValueError:
            return raw
    if not isinstance(ctx, dict):
        return str(raw)
    custom = ctx.setdefault("custom", {})
    if isinstance(custom, dict):
        custom.setdefault("traceparent", traceparent)
    encoded = base64.b64encode(json.dumps(ctx).encode()).decode()
    return encoded if len(encoded) <= 3583 else str(raw or "")


def inject(service: str, operation: str, params: dict[str, Any], traceparent: str) -> dict[str, Any]:
    """``params`` with the trace context added where the service carries it (a new dict)."""
    key = (service, operation)
    if key in (("sqs", "SendMessage"), ("sns", "Publish")):
        return {
            **params,
            "MessageAttributes": _with_traceparent(params.get("MessageAttributes"), traceparent),
        }
    entries_key = {
        ("sqs", "SendMessageBatch"): "Entries",
        ("sns", "PublishBatch"): "PublishBatchRequestEntries",
    }
    if key in entries_key:
        name = entries_key[key]
        entries = [
            {**e, "MessageAttributes": _with_traceparent(e.get("MessageAttributes"), traceparent)}
            if isinstance(e, dict)
            else e
            for e in params.get(name) or []
        ]
        return {**params, name: entries}
    if key == ("lambda", "Invoke"):
        return {**params, "ClientContext": _client_context(params.get("ClientContext"), traceparent)}
    return params


def _request_attributes(service: str, params: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if service == "sqs" and isinstance(params.get("QueueUrl"), str):
        attrs["messaging.system"] = "aws_sqs"
        attrs["messaging.destination.name"] = params["QueueUrl"].rsplit("/", 1)[-1]
        attrs["aws.sqs.queue_url"] = params["QueueUrl"]
    elif service == "sns" and params.get("TopicArn"):
        attrs["messaging.system"] = "aws_sns"
        attrs["messaging.destination.name"] = str(params["TopicArn"]).rsplit(":", 1)[-1]
    elif service == "dynamodb" and params.get("TableName"):
        attrs["aws.dynamodb.table_names"] = [str(params["TableName"])]
    elif service == "s3":
        if params.get("Bucket"):
            attrs["aws.s3.bucket"] = str(params["Bucket"])
        if params.get("Key"):
            attrs["aws.s3.key"] = str(params["Key"])
    elif service == "lambda" and params.get("FunctionName"):
        attrs["faas.invoked_name"] = str(params["FunctionName"])
    return attrs


def _response_attributes(span: spans.Span, response: Any) -> None:
    if not isinstance(response, dict):
        return
    meta = response.get("ResponseMetadata") or {}
    if meta.get("RequestId"):
        span.attributes["aws.request_id"] = meta["RequestId"]
    if meta.get("HTTPStatusCode"):
        span.attributes["http.response.status_code"] = meta["HTTPStatusCode"]
    if meta.get("RetryAttempts"):
        span.attributes["aws.retry_attempts"] = meta["RetryAttempts"]


def _start(client: Any, operation: str, params: dict[str, Any]) -> tuple[spans.Span, str]:
    meta = client.meta
    model = meta.service_model
    service = model.service_name
    service_id = getattr(model, "service_id", None) or service
    attrs: dict[str, Any] = {
        "rpc.system": "aws-api",
        "rpc.service": str(service_id),
        "rpc.method": operation,
        "cloud.region": meta.region_name or "",
    }
    endpoint = getattr(meta, "endpoint_url", None)
    if endpoint:
        attrs["server.address"] = str(endpoint).split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]
    attrs.update(_request_attributes(service, params))
    kind = spans.PRODUCER if (service, operation) in _PRODUCER_OPS else spans.CLIENT
    return spans.start_span(f"{service_id}.{operation}", kind, attrs), service


def patch(module: ModuleType) -> None:
    client_cls = module.BaseClient
    original = client_cls._make_api_call
    if getattr(original, "_zerolag", False):
        return

    def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if spans.suppressed.get():
            return original(self, operation_name, api_params)
        try:
            span, service = _start(self, operation_name, api_params)
            api_params = inject(service, operation_name, api_params, span.traceparent())
        except Exception:
            return original(self, operation_name, api_params)
        token = spans.suppressed.set(True)
        try:
            result = original(self, operation_name, api_params)
        except BaseException as exc:
            response = getattr(exc, "response", None)
            _response_attributes(span, response)
            code = ((response or {}).get("Error") or {}).get("Code") if isinstance(response, dict) else None
            span.attributes["error.type"] = code or type(exc).__qualname__
            span.record_exception(exc)
            span.set_status(spans.ERROR, f"{type(exc).__name__}: {exc}")
            raise
        finally:
            spans.suppressed.reset(token)
            span.end()
        _response_attributes(span, result)
        return result

    _make_api_call._zerolag = True  # type: ignore[attr-defined]
    client_cls._make_api_call = _make_api_call
