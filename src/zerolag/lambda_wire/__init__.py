"""The Lambda wire types, defined once for both sides of every Lambda API.

The emulator's servers and the extension's/agent's clients import these names, so the two sides cannot drift
apart. Facts follow ``shared/docs/lambda-contract.md`` (section names are cited in the docstrings).

Standard library only, and no imports at all beyond ``typing``: the extension imports this at start-up.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

# --- API versions and paths ------------------------------------------------------------------------
RUNTIME_API_VERSION: Final = "2018-06-01"
EXTENSIONS_API_VERSION: Final = "2020-01-01"
TELEMETRY_API_VERSION: Final = "2022-07-01"
LOGS_API_VERSION: Final = "2020-08-15"

RUNTIME_NEXT: Final = f"/{RUNTIME_API_VERSION}/runtime/invocation/next"
RUNTIME_RESPONSE: Final = f"/{RUNTIME_API_VERSION}/runtime/invocation/{{request_id}}/response"
RUNTIME_ERROR: Final = f"/{RUNTIME_API_VERSION}/runtime/invocation/{{request_id}}/error"
RUNTIME_INIT_ERROR: Final = f"/{RUNTIME_API_VERSION}/runtime/init/error"
RUNTIME_RESTORE_NEXT: Final = f"/{RUNTIME_API_VERSION}/runtime/restore/next"
RUNTIME_RESTORE_ERROR: Final = f"/{RUNTIME_API_VERSION}/runtime/restore/error"

EXTENSION_REGISTER: Final = f"/{EXTENSIONS_API_VERSION}/extension/register"
EXTENSION_NEXT: Final = f"/{EXTENSIONS_API_VERSION}/extension/event/next"
EXTENSION_INIT_ERROR: Final = f"/{EXTENSIONS_API_VERSION}/extension/init/error"
EXTENSION_EXIT_ERROR: Final = f"/{EXTENSIONS_API_VERSION}/extension/exit/error"

TELEMETRY_SUBSCRIBE: Final = f"/{TELEMETRY_API_VERSION}/telemetry"
LOGS_SUBSCRIBE: Final = f"/{LOGS_API_VERSION}/logs"

# RIE-compatible invoke endpoint (contract section 5).
RIE_INVOKE_PATH: Final = "/2015-03-31/functions/function/invocations"

# --- Headers (Runtime API, contract section 1) -----------------------------------------------------
H_REQUEST_ID: Final = "Lambda-Runtime-Aws-Request-Id"
H_DEADLINE_MS: Final = "Lambda-Runtime-Deadline-Ms"
H_FUNCTION_ARN: Final = "Lambda-Runtime-Invoked-Function-Arn"
H_TRACE_ID: Final = "Lambda-Runtime-Trace-Id"
H_CLIENT_CONTEXT: Final = "Lambda-Runtime-Client-Context"
H_COGNITO_IDENTITY: Final = "Lambda-Runtime-Cognito-Identity"
H_TENANT_ID: Final = "Lambda-Runtime-Aws-Tenant-Id"
H_FUNCTION_ERROR_TYPE: Final = "Lambda-Runtime-Function-Error-Type"
H_FUNCTION_ERROR_BODY: Final = "Lambda-Runtime-Function-Error-Body"
H_XRAY_ERROR_CAUSE: Final = "Lambda-Runtime-Function-XRay-Error-Cause"
H_RESPONSE_MODE: Final = "Lambda-Runtime-Function-Response-Mode"
RESPONSE_MODE_STREAMING: Final = "streaming"
CONTENT_TYPE_ERROR_CAUSE: Final = "application/vnd.aws.lambda.error.cause+json"

# --- Headers (Extensions API, contract section 2) --------------------------------------------------
H_EXTENSION_NAME: Final = "Lambda-Extension-Name"
H_EXTENSION_ID: Final = "Lambda-Extension-Identifier"
H_EXTENSION_ACCEPT_FEATURE: Final = "Lambda-Extension-Accept-Feature"
H_EXTENSION_EVENT_ID: Final = "Lambda-Extension-Event-Identifier"
H_EXTENSION_ERROR_TYPE: Final = "Lambda-Extension-Function-Error-Type"
FEATURE_ACCOUNT_ID: Final = "accountId"

# --- Limits ----------------------------------------------------------------------------------------
MAX_RESPONSE_BYTES: Final = 6 * 1024 * 1024 + 100  # 6291556, contract section 1
MAX_EXTENSIONS: Final = 10
INIT_TIMEOUT_S: Final = 10.0
SHUTDOWN_BUDGET_NO_EXTENSIONS_MS: Final = 0
SHUTDOWN_BUDGET_INTERNAL_MS: Final = 500
SHUTDOWN_BUDGET_EXTERNAL_MS: Final = 2000
RUNTIME_SHUTDOWN_SHARE_MS: Final = 300  # 500 with an internal extension

# Telemetry buffering defaults and limits (contract section 3).
TELEMETRY_MAX_ITEMS: Final = (1000, 10000, 10000)  # (min, max, default)
TELEMETRY_MAX_BYTES: Final = (262144, 1048576, 262144)
TELEMETRY_TIMEOUT_MS: Final = (25, 30000, 1000)
TELEMETRY_SCHEMAS: Final = ("2022-07-01", "2022-12-13", "2025-01-29")
LOGS_SCHEMAS: Final = ("2020-08-15", "2021-03-18")
SANDBOX_HOSTNAMES: Final = ("sandbox.localdomain", "sandbox")

# --- Event types, reasons, statuses ----------------------------------------------------------------
EventType = Literal["INVOKE", "SHUTDOWN"]
ShutdownReason = Literal["spindown", "timeout", "failure"]
InvokeStatus = Literal["success", "failure", "error", "timeout"]
TelemetryType = Literal["platform", "function", "extension"]

EVENT_INVOKE: Final = "INVOKE"
EVENT_SHUTDOWN: Final = "SHUTDOWN"
SHUTDOWN_SPINDOWN: Final = "spindown"
SHUTDOWN_TIMEOUT: Final = "timeout"
SHUTDOWN_FAILURE: Final = "failure"

# --- Error types (every errorType string on the wire, contract sections 1-3) -----------------------
ERR_INVALID_STATE_TRANSITION: Final = "InvalidStateTransition"
ERR_INVALID_REQUEST_ID: Final = "InvalidRequestID"
ERR_REQUEST_TOO_LARGE: Final = "RequestEntityTooLarge"
ERR_TRUNCATED_REQUEST: Final = "TruncatedHTTPRequest"
ERR_INVALID_RESPONSE_MODE: Final = "InvalidFunctionResponseMode"
ERR_INVALID_REQUEST_FORMAT: Final = "InvalidRequestFormat"
ERR_EXT_INVALID_NAME: Final = "Extension.InvalidExtensionName"
ERR_EXT_REGISTRATION_CLOSED: Final = "Extension.RegistrationClosed"
ERR_EXT_TOO_MANY: Final = "Extension.TooManyExtensions"
ERR_EXT_INVALID_EVENT_TYPE: Final = "Extension.InvalidEventType"
ERR_EXT_INVALID_STATE: Final = "Extension.InvalidExtensionState"
ERR_EXT_MISSING_ID: Final = "Extension.MissingExtensionIdentifier"
ERR_EXT_INVALID_ID: Final = "Extension.InvalidExtensionIdentifier"
ERR_EXT_UNKNOWN_ID: Final = "Extension.UnknownExtensionIdentifier"
ERR_EXT_MISSING_HEADER: Final = "Extension.MissingHeader"
ERR_EXT_INIT_ERROR: Final = "Extension.InitError"
ERR_EXT_CRASH: Final = "Extension.Crash"
ERR_TELEMETRY_VALIDATION: Final = "ValidationError"
ERR_TELEMETRY_CLOSED: Final = "Telemetry.SubscriptionClosed"
ERR_LOGS_VALIDATION: Final = "Logs.ValidationError"
ERR_LOGS_CLOSED: Final = "Logs.SubscriptionClosed"
ERR_RUNTIME_UNKNOWN: Final = "Runtime.Unknown"
ERR_RUNTIME_EXIT: Final = "Runtime.ExitError"
ERR_RUNTIME_OOM: Final = "Runtime.OutOfMemory"
ERR_SANDBOX_TIMEOUT: Final = "Sandbox.Timedout"
ERR_RUNTIME_IMPORT_MODULE: Final = "Runtime.ImportModuleError"

# Extension environment: the function's environment minus these (contract section 2); rapid also drops
# every variable that starts with "_".
EXTENSION_ENV_EXCLUDED: Final = frozenset(
    {
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "_AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_PORT",
        "_HANDLER",
    }
)


# --- Bodies ----------------------------------------------------------------------------------------
class ErrorBody(TypedDict):
    """Every error reply of the Lambda APIs: ``{"errorMessage", "errorType"}``."""

    errorMessage: str
    errorType: str


class RegisterResponse(TypedDict, total=False):
    """Body of a successful ``/extension/register`` (``accountId`` only with the accept-feature header)."""

    functionName: str
    functionVersion: str
    handler: str
    accountId: str


class Tracing(TypedDict):
    type: str
    value: str


class InvokeEvent(TypedDict, total=False):
    """An INVOKE event from ``/extension/event/next``; ``tracing`` is omitted when there is no trace."""

    eventType: str
    deadlineMs: int
    requestId: str
    invokedFunctionArn: str
    tracing: Tracing


class ShutdownEvent(TypedDict):
    """A SHUTDOWN event; ``shutdownReason`` is lowercase on the wire."""

    eventType: str
    deadlineMs: int
    shutdownReason: str


class TelemetryBuffering(TypedDict, total=False):
    maxItems: int
    maxBytes: int
    timeoutMs: int


class TelemetryDestination(TypedDict, total=False):
    protocol: str
    URI: str
    port: int


class TelemetrySubscription(TypedDict, total=False):
    """Body of ``PUT /2022-07-01/telemetry`` (and of the Logs API subscribe)."""

    schemaVersion: str
    types: list[str]
    buffering: TelemetryBuffering
    destination: TelemetryDestination


class TelemetryEvent(TypedDict):
    """One item of a Telemetry API delivery (the POST body is a JSON array of these)."""

    time: str
    type: str
    record: object


def error_body(error_type: str, message: str) -> ErrorBody:
    """The standard error reply."""
    return {"errorMessage": message, "errorType": error_type}


def extension_environment(function_env: dict[str, str]) -> dict[str, str]:
    """The environment an external extension sees.

    That is the function's environment minus the excluded and ``_``-prefixed names.
    """
    return {
        k: v for k, v in function_env.items() if k not in EXTENSION_ENV_EXCLUDED and not k.startswith("_")
    }
