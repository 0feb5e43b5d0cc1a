"""The backend API key from SSM at init: sent as a Bearer header, never overriding an explicit
Authorization header, and a lookup failure is an error naming the variable (moto's server on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ext_sandbox import free_port

from zerolag.extension.app import with_api_key
from zerolag.extension.config import load_config

REGION = "eu-west-1"
BROKEN_KEY = "zl_live_first\nzl_live_second"  # a key pasted with a line break inside


@pytest.fixture(scope="module")
def ssm_env() -> Iterator[dict[str, str]]:
    """moto's server in its own process (its state is not shared with other tests' moto servers)."""
    import boto3

    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_listening(port)
        ssm = boto3.client(
            "ssm",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        ssm.put_parameter(Name="/zerolag/key", Value="zl_live_abc123", Type="SecureString")
        secrets = boto3.client(
            "secretsmanager",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        secrets.create_secret(Name="zerolag/broken", SecretString=BROKEN_KEY)
        yield {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "ZEROLAG_API_KEY_SSM_PARAMETER": "/zerolag/key",
        }
    finally:
        server.kill()
        server.wait()


def _wait_listening(port: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.1)  # polling a child process's port: there is no event to wait on


def test_the_key_becomes_a_bearer_header(ssm_env: dict[str, str]) -> None:
    """The resolved key is sent as Authorization: Bearer <key>, next to ZEROLAG_OTLP_HEADERS."""
    env = {**ssm_env, "ZEROLAG_OTLP_HEADERS": "x-team=a"}
    config = with_api_key(load_config(env), env)
    assert config.otlp_headers == (("x-team", "a"), ("Authorization", "Bearer zl_live_abc123"))


def test_an_explicit_authorization_header_wins(ssm_env: dict[str, str]) -> None:
    """An Authorization header set in ZEROLAG_OTLP_HEADERS is kept as it is."""
    env = {**ssm_env, "ZEROLAG_OTLP_HEADERS": "Authorization=Basic%20xyz"}
    assert with_api_key(load_config(env), env).otlp_headers == (("Authorization", "Basic xyz"),)


def test_a_missing_parameter_is_an_error_naming_the_variable(ssm_env: dict[str, str]) -> None:
    """A parameter that does not exist raises a ValueError whose message names the variable."""
    env = {**ssm_env, "ZEROLAG_API_KEY_SSM_PARAMETER": "/zerolag/none"}
    with pytest.raises(ValueError, match="ZEROLAG_API_KEY_SSM_PARAMETER"):
        with_api_key(load_config(env), env)


def test_without_the_variables_nothing_is_looked_up() -> None:
    """No key variable: the configuration is returned unchanged."""
    config = load_config({})
    assert with_api_key(config, {}) is config


def test_a_key_with_a_line_break_is_an_error_naming_the_variable_not_the_key(ssm_env: dict[str, str]) -> None:
    """A key that http.client would refuse to send fails at init with the variable named, never the key."""
    env = {**ssm_env, "ZEROLAG_API_KEY_SECRET_ARN": "zerolag/broken"}
    del env["ZEROLAG_API_KEY_SSM_PARAMETER"]
    with pytest.raises(ValueError, match=r"ZEROLAG_API_KEY_SECRET_ARN.*line break") as info:
        with_api_key(load_config(env), env)
    assert "zl_live" not in str(info.value)


@pytest.mark.e2e
def test_in_the_emulator_a_broken_secret_fails_init_clearly_and_is_never_printed(
    ssm_env: dict[str, str], tmp_path: Path
) -> None:
    """In a sandbox: the key from Secrets Manager has a line break; init fails with Extension.ApiKeyError
    naming the variable, and no log line (of any process) holds a part of the key."""
    from ext_sandbox import FUNCTIONS, OTEL_LAYER, extension_env, extension_lines, layer_dir

    from zerolag.emulator import Sandbox

    env = extension_env(None, tmp_path, ZEROLAG_API_KEY_SECRET_ARN="zerolag/broken")
    env["ZEROLAG_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
    env.update({k: v for k, v in ssm_env.items() if k != "ZEROLAG_API_KEY_SSM_PARAMETER"})
    with Sandbox(
        code=FUNCTIONS / "otel_py", handler="app.handler", layers=[layer_dir(), OTEL_LAYER], env=env
    ) as sb:
        outcome = sb.last_init
        assert outcome is not None
        assert outcome.status != "success"
        ext = [e["record"] for e in sb.telemetry if e["type"] == "platform.extension"]
        assert ext[-1]["errorType"] == "Extension.ApiKeyError"  # type: ignore[index]
        [line] = extension_lines(sb.logs)
        assert line["message"].startswith("ZEROLAG_API_KEY_SECRET_ARN:")
        assert all("zl_live" not in entry.text for entry in sb.logs)
