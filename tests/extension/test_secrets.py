"""ZEROLAG_API_KEY_SECRET_ARN / ZEROLAG_API_KEY_SSM_PARAMETER: the key is read at init with a stdlib SigV4
client, against moto's server on loopback, and boto3 is never imported."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from zerolag.extension.secrets import (
    SECRET_ARN_VAR,
    SSM_PARAMETER_VAR,
    ApiKeyError,
    Credentials,
    resolve_api_key,
    sign,
)

REGION = "eu-west-1"
MOTO_SERVER = Path(sys.executable).with_name("moto_server")


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's server on 127.0.0.1, port 0 (signatures not enforced)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _env(endpoint: str, **extra: str) -> dict[str, str]:
    base = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "session-token",
        "AWS_REGION": REGION,
    }
    return {**base, **extra}


def _boto(service: str, endpoint: str, **credentials: str) -> object:
    creds = credentials or {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, **creds)


def test_signature_matches_the_aws_test_vector() -> None:
    """sign() reproduces the SigV4 test suite's get-vanilla signature."""
    headers = sign(
        method="GET",
        host="example.amazonaws.com",
        path="/",
        headers={},
        body=b"",
        credentials=Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None),
        region="us-east-1",
        service="service",
        amz_date="20150830T123600Z",
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_signature_matches_botocore_for_a_json_request_with_a_session_token() -> None:
    """For a JSON 1.1 POST with a session token, sign() gives botocore's SigV4Auth's Authorization."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    body = json.dumps({"SecretId": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k"}).encode()
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}
    host = "secretsmanager.eu-west-1.amazonaws.com"
    request = AWSRequest(method="POST", url=f"https://{host}/", data=body, headers=headers)
    boto_credentials = BotoCredentials("AKIDEXAMPLE", "secret/KEY", "token==")
    SigV4Auth(boto_credentials, "secretsmanager", REGION).add_auth(request)
    ours = sign(
        method="POST",
        host=host,
        path="/",
        headers=headers,
        body=body,
        credentials=Credentials("AKIDEXAMPLE", "secret/KEY", "token=="),
        region=REGION,
        service="secretsmanager",
        amz_date=request.headers["X-Amz-Date"],
    )
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Security-Token"] == "token=="


def test_no_variable_means_no_key() -> None:
    """With neither variable set, resolve_api_key returns None and calls nothing."""
    assert resolve_api_key({"AWS_REGION": REGION}) is None


def test_secret_string_is_the_key(moto_endpoint: str) -> None:
    """A Secrets Manager SecretString is returned as the key (surrounding whitespace stripped)."""
    arn = _boto("secretsmanager", moto_endpoint).create_secret(Name="plain", SecretString="zl-key-123\n")[
        "ARN"
    ]
    assert resolve_api_key(_env(moto_endpoint, **{SECRET_ARN_VAR: arn})) == "zl-key-123"


def test_json_secret_holds_the_key_under_api_key(moto_endpoint: str) -> None:
    """A JSON SecretString gives the value of its apiKey field."""
    secret = json.dumps({"apiKey": "zl-json-key", "other": "x"})
    arn = _boto("secretsmanager", moto_endpoint).create_secret(Name="json", SecretString=secret)["ARN"]
    assert resolve_api_key(_env(moto_endpoint, **{SECRET_ARN_VAR: arn})) == "zl-json-key"


def test_ssm_secure_string_is_decrypted(moto_endpoint: str) -> None:
    """An SSM SecureString parameter is read WithDecryption and its plaintext returned."""
    _boto("ssm", moto_endpoint).put_parameter(Name="/zerolag/key", Value="zl-ssm-key", Type="SecureString")
    assert resolve_api_key(_env(moto_endpoint, **{SSM_PARAMETER_VAR: "/zerolag/key"})) == "zl-ssm-key"


def test_service_specific_endpoint_wins(moto_endpoint: str) -> None:
    """AWS_ENDPOINT_URL_SSM overrides AWS_ENDPOINT_URL for SSM."""
    _boto("ssm", moto_endpoint).put_parameter(Name="/zerolag/other", Value="zl-2", Type="SecureString")
    env = _env(
        "http://127.0.0.1:9", AWS_ENDPOINT_URL_SSM=moto_endpoint, **{SSM_PARAMETER_VAR: "/zerolag/other"}
    )
    assert resolve_api_key(env) == "zl-2"


def test_missing_secret_is_an_error_naming_the_variable(moto_endpoint: str) -> None:
    """A secret that does not exist raises ApiKeyError naming ZEROLAG_API_KEY_SECRET_ARN and AWS's error."""
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:absent-AbCdEf"
    with pytest.raises(ApiKeyError) as caught:
        resolve_api_key(_env(moto_endpoint, **{SECRET_ARN_VAR: arn}))
    message = str(caught.value)
    assert message.startswith(SECRET_ARN_VAR)
    assert "ResourceNotFoundException" in message


def test_missing_parameter_is_an_error_naming_the_variable(moto_endpoint: str) -> None:
    """A parameter that does not exist raises ApiKeyError naming ZEROLAG_API_KEY_SSM_PARAMETER."""
    with pytest.raises(ApiKeyError, match=f"^{SSM_PARAMETER_VAR}.*ParameterNotFound"):
        resolve_api_key(_env(moto_endpoint, **{SSM_PARAMETER_VAR: "/zerolag/absent"}))


def test_both_variables_set_is_an_error() -> None:
    """Setting both variables is ambiguous and refused, naming both."""
    env = {SECRET_ARN_VAR: "arn:aws:secretsmanager:eu-west-1:1:secret:a", SSM_PARAMETER_VAR: "/p"}
    with pytest.raises(ApiKeyError, match=f"{SECRET_ARN_VAR} and {SSM_PARAMETER_VAR}"):
        resolve_api_key(env)


def test_missing_credentials_is_an_error() -> None:
    """Without AWS credentials in the environment the error says so, naming the variable."""
    with pytest.raises(ApiKeyError, match=f"^{SSM_PARAMETER_VAR}: no AWS credentials"):
        resolve_api_key({"AWS_REGION": REGION, SSM_PARAMETER_VAR: "/p"})


def test_unreachable_endpoint_is_an_error_not_a_hang() -> None:
    """A refused connection raises ApiKeyError naming the variable and the endpoint."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(ApiKeyError, match=f"^{SSM_PARAMETER_VAR}.*127.0.0.1:{port} unreachable"):
            resolve_api_key(_env(f"http://127.0.0.1:{port}", **{SSM_PARAMETER_VAR: "/p"}))


def test_error_messages_never_contain_the_secret(moto_endpoint: str) -> None:
    """A JSON secret without a key field is an error whose message does not include the secret's content."""
    secret = json.dumps({"password": "hunter2-very-secret", "user": "u"})
    arn = _boto("secretsmanager", moto_endpoint).create_secret(Name="nokey", SecretString=secret)["ARN"]
    with pytest.raises(ApiKeyError) as caught:
        resolve_api_key(_env(moto_endpoint, **{SECRET_ARN_VAR: arn}))
    assert "hunter2" not in str(caught.value)
    assert SECRET_ARN_VAR in str(caught.value)


def test_resolution_never_imports_boto3(moto_endpoint: str) -> None:
    """In a fresh process, resolving both kinds of key leaves boto3 and botocore unimported."""
    sm = _boto("secretsmanager", moto_endpoint)
    arn = sm.create_secret(Name="subprocess", SecretString="zl-sub")["ARN"]
    _boto("ssm", moto_endpoint).put_parameter(Name="/zerolag/sub", Value="zl-sub-ssm", Type="SecureString")
    script = (
        "import json, os, sys\n"
        "from zerolag.extension.secrets import resolve_api_key\n"
        "env = dict(os.environ)\n"
        "a = resolve_api_key({**env, 'ZEROLAG_API_KEY_SECRET_ARN': sys.argv[1]})\n"
        "b = resolve_api_key({**env, 'ZEROLAG_API_KEY_SSM_PARAMETER': '/zerolag/sub'})\n"
        "aws = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore'))\n"
        "print(json.dumps([a, b, aws]))\n"
    )
    env = {**os.environ, **_env(moto_endpoint)}
    result = subprocess.run(
        [sys.executable, "-c", script, arn], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["zl-sub", "zl-sub-ssm", []]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def authenticating_moto() -> Iterator[str]:
    """A moto_server process that enforces IAM auth (signatures checked) after 4 unauthenticated calls."""
    port = _free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "moto_server exited"
                assert time.monotonic() < deadline, "moto_server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_signature_is_accepted_by_a_server_that_checks_it(authenticating_moto: str) -> None:
    """Against moto enforcing SigV4 with IAM keys, the right key reads the secret and a wrong one fails."""
    endpoint = authenticating_moto
    iam = _boto("iam", endpoint)
    iam.create_user(UserName="reader")
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    arn = iam.create_policy(PolicyName="all", PolicyDocument=policy)["Policy"]["Arn"]
    iam.attach_user_policy(UserName="reader", PolicyArn=arn)
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    secret_arn = _boto("secretsmanager", endpoint, **creds).create_secret(
        Name="signed", SecretString="zl-signed"
    )["ARN"]
    env = _env(endpoint, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
    del env["AWS_SESSION_TOKEN"]
    env[SECRET_ARN_VAR] = secret_arn
    assert resolve_api_key(env) == "zl-signed"
    with pytest.raises(ApiKeyError, match=f"^{SECRET_ARN_VAR}"):
        resolve_api_key({**env, "AWS_SECRET_ACCESS_KEY": "not-the-key"})
