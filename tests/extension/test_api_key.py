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
