"""Resolve the backend API key from Secrets Manager or SSM Parameter Store at init, without boto3.

``ZEROLAG_API_KEY_SECRET_ARN`` names a Secrets Manager secret (its SecretString is the key, or a JSON object
holding it under ``apiKey``, ``api_key``, ``key`` or as its only value); ``ZEROLAG_API_KEY_SSM_PARAMETER``
names an SSM parameter (a SecureString is decrypted). With neither set, nothing is imported and nothing is
called. Importing boto3 would add ~100 ms to every cold start, so the two JSON APIs are called directly with
a SigV4 signature made here from the standard library (``hmac``/``hashlib`` and ``http.client``), using the
credentials Lambda puts in the environment. Endpoints follow ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` /
``AWS_ENDPOINT_URL_SSM``, then ``AWS_ENDPOINT_URL``, then the regional AWS endpoint.

Errors raise ``ApiKeyError`` whose message names the variable; the key itself never appears in a message.
Only ``typing`` is imported at module level: the rest is imported when a variable is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

SECRET_ARN_VAR = "ZEROLAG_API_KEY_SECRET_ARN"  # noqa: S105 (a variable name)
SSM_PARAMETER_VAR = "ZEROLAG_API_KEY_SSM_PARAMETER"
JSON_KEY_NAMES = ("apiKey", "api_key", "key", "ZEROLAG_API_KEY")
TIMEOUT_S = 2.0  # per attempt: two attempts stay well inside the 10 s init limit
ATTEMPTS = 2  # one retry on a connection error, throttling or a 5xx: init has 10 s in all


class ApiKeyError(ValueError):
    """The API key could not be resolved; the message names the variable that asked for it."""


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None


class Service(NamedTuple):
    """An AWS JSON 1.1 API: its SigV4 signing name, its endpoint prefix and override variable."""

    signing_name: str
    endpoint_prefix: str
    endpoint_var: str
    target_prefix: str


SECRETS_MANAGER = Service(
    "secretsmanager", "secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "secretsmanager"
)
SSM = Service("ssm", "ssm", "AWS_ENDPOINT_URL_SSM", "AmazonSSM")


# --- SigV4 (pure: the clock comes in as an argument) ------------------------------------------------------
def _hmac(key: bytes, message: str) -> bytes:
    import hashlib
    import hmac

    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 signing key for one day, region and service."""
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign(
    *,
    method: str,
    host: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str,
    amz_date: str,
) -> dict[str, str]:
    """Return ``headers`` plus Host, X-Amz-Date, the session token and Authorization, signed with SigV4.

    ``amz_date`` is the request time as ``YYYYMMDDTHHMMSSZ``. Every given header is signed; the path must
    already be URI-encoded and the request has no query string (true of the AWS JSON APIs).
    """
    import hashlib

    signed = {"host": host, "x-amz-date": amz_date}
    if credentials.token:
        signed["x-amz-security-token"] = credentials.token
    signed.update({name.lower(): " ".join(value.split()) for name, value in headers.items()})
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(f"{name}:{signed[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = signing_key(credentials.secret_key, amz_date[:8], region, service)
    signature = _hmac(key, to_sign).hex()
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    out = {"Host": host, "X-Amz-Date": amz_date, **headers, "Authorization": authorization}
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    return out


# --- Environment -------------------------------------------------------------------------------------------
def _credentials(env: Mapping[str, str], var: str) -> Credentials:
    access_key = env.get("AWS_ACCESS_KEY_ID", "")
    secret_key = env.get("AWS_SECRET_ACCESS_KEY", "")
    if not access_key or not secret_key:
        raise ApiKeyError(
            f"{var}: no AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) to read it with"
        )
    return Credentials(access_key, secret_key, env.get("AWS_SESSION_TOKEN") or None)


def _region(env: Mapping[str, str], var: str, arn_or_name: str) -> str:
    if arn_or_name.startswith("arn:"):
        parts = arn_or_name.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if not region:
        raise ApiKeyError(f"{var}: no region (set AWS_REGION or use a full ARN)")
    return region


def endpoint_url(env: Mapping[str, str], service: Service, region: str) -> str:
    """The service endpoint: the per-service override, then AWS_ENDPOINT_URL, then the regional endpoint."""
    override = env.get(service.endpoint_var) or env.get("AWS_ENDPOINT_URL")
    if override:
        return override.rstrip("/")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{service.endpoint_prefix}.{region}.{suffix}"


# --- The call ----------------------------------------------------------------------------------------------
class _Reply(NamedTuple):
    status: int
    body: bytes


def _post(url: str, headers: Mapping[str, str], body: bytes) -> _Reply:
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        import ssl

        context = ssl.create_default_context()
        connection = http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT_S, context=context)
    else:
        connection = http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT_S)
    try:
        connection.request("POST", parts.path or "/", body=body, headers=dict(headers))
        response = connection.getresponse()
        return _Reply(response.status, response.read())
    finally:
        connection.close()


def _aws_error(reply: _Reply) -> str:
    import json

    try:
        payload = json.loads(reply.body)
    except ValueError:
        return f"HTTP {reply.status}"
    kind = str(payload.get("__type", "")).rsplit("#", 1)[-1] or f"HTTP {reply.status}"
    message = payload.get("message") or payload.get("Message") or ""
    return f"{kind}: {message}" if message else kind


def call_json_api(
    env: Mapping[str, str],
    service: Service,
    action: str,
    payload: Mapping[str, Any],
    *,
    var: str,
    target: str,
) -> dict[str, Any]:
    """POST one AWS JSON 1.1 action, signed, retried once on a transient failure; raise ApiKeyError."""
    import json
    import time
    from urllib.parse import urlsplit

    region = _region(env, var, target)
    credentials = _credentials(env, var)
    url = endpoint_url(env, service, region)
    body = json.dumps(payload).encode("utf-8")
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": f"{service.target_prefix}.{action}",
    }
    problem = ""
    for _ in range(ATTEMPTS):
        amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        parts = urlsplit(url)
        signed = sign(
            method="POST",
            host=parts.netloc,
            path=parts.path or "/",
            headers=headers,
            body=body,
            credentials=credentials,
            region=region,
            service=service.signing_name,
            amz_date=amz_date,
        )
        try:
            reply = _post(url, signed, body)
        except OSError as exc:
            problem = f"{url} unreachable: {type(exc).__name__}: {exc}"
            continue
        if reply.status == 200:
            result = json.loads(reply.body)
            if not isinstance(result, dict):
                raise ApiKeyError(f"{var}: {target!r}: unexpected {action} reply")
            return result
        problem = _aws_error(reply)
        if reply.status < 500 and "Throttl" not in problem:
            break
    raise ApiKeyError(f"{var}: {target!r} could not be read: {problem}")


def _key_from_secret_string(value: str, var: str, target: str) -> str:
    import json

    text = value.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return text
        if isinstance(document, dict):
            for name in JSON_KEY_NAMES:
                if isinstance(document.get(name), str):
                    return str(document[name]).strip()
            values = list(document.values())
            if len(values) == 1 and isinstance(values[0], str):
                return values[0].strip()
            raise ApiKeyError(f"{var}: {target!r} is a JSON object without an apiKey field")
    return text


def secret_value(env: Mapping[str, str], secret_id: str) -> str:
    """The API key held by Secrets Manager secret ``secret_id``."""
    reply = call_json_api(
        env, SECRETS_MANAGER, "GetSecretValue", {"SecretId": secret_id}, var=SECRET_ARN_VAR, target=secret_id
    )
    value = reply.get("SecretString")
    if not isinstance(value, str):
        import base64

        binary = reply.get("SecretBinary")
        if not isinstance(binary, str):
            raise ApiKeyError(f"{SECRET_ARN_VAR}: {secret_id!r} has no SecretString")
        value = base64.b64decode(binary).decode("utf-8", "replace")
    return _key_from_secret_string(value, SECRET_ARN_VAR, secret_id)


def parameter_value(env: Mapping[str, str], name: str) -> str:
    """The value of SSM parameter ``name`` (decrypted when it is a SecureString)."""
    reply = call_json_api(
        env, SSM, "GetParameter", {"Name": name, "WithDecryption": True}, var=SSM_PARAMETER_VAR, target=name
    )
    parameter = reply.get("Parameter")
    value = parameter.get("Value") if isinstance(parameter, dict) else None
    if not isinstance(value, str):
        raise ApiKeyError(f"{SSM_PARAMETER_VAR}: {name!r}: the reply holds no value")
    return value.strip()


def resolve_api_key(env: Mapping[str, str]) -> str | None:
    """The API key named by the environment, or None when neither variable is set.

    Raises ApiKeyError (naming the variable) when both are set, or the key cannot be read or is empty.
    """
    secret_id = env.get(SECRET_ARN_VAR, "").strip()
    parameter = env.get(SSM_PARAMETER_VAR, "").strip()
    if secret_id and parameter:
        raise ApiKeyError(f"{SECRET_ARN_VAR} and {SSM_PARAMETER_VAR} are both set: set only one")
    if secret_id:
        key, var = secret_value(env, secret_id), SECRET_ARN_VAR
    elif parameter:
        key, var = parameter_value(env, parameter), SSM_PARAMETER_VAR
    else:
        return None
    if not key:
        raise ApiKeyError(f"{var}: the value is empty")
    from zerolag.extension.config import header_value_problem

    problem = header_value_problem(f"Bearer {key}")
    if problem is not None:  # it would make every send fail (http.client refuses it): say so now
        raise ApiKeyError(f"{var}: the key {problem}; it cannot be sent as an HTTP header")
    return key
