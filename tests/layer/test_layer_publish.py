"""`zerolag layer publish`: publishes with boto3 and prints the layer version ARN (against moto's server)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
from click.testing import CliRunner

from zerolag.cli.main import cli
from zerolag.layer.build import build_layer

ARN = re.compile(r"^arn:aws:lambda:eu-west-1:\d{12}:layer:zerolag-test[\w-]*:\d+$")


def _layer_version(client: Any, arn: str) -> Any:
    name, number = arn.split(":")[-2:]
    return client.get_layer_version(LayerName=name, VersionNumber=int(number))


def test_publish_prints_the_layer_version_arn(aws_env: str, tmp_path: Path) -> None:
    """publish sends the zip with the given architectures and runtimes and prints the new version's ARN."""
    zip_path = build_layer(tmp_path / "layer.zip")
    argv = ["layer", "publish", "--name", "zerolag-test", "--region", "eu-west-1", "--zip", str(zip_path)]
    argv += ["--arch", "arm64", "--runtimes", "python3.12", "--runtimes", "python3.13"]
    result = CliRunner().invoke(cli, argv)
    assert result.exit_code == 0, result.output
    arn = result.output.strip()
    assert ARN.match(arn), arn
    client = boto3.client("lambda", region_name="eu-west-1")
    version = _layer_version(client, arn)
    assert version["CompatibleRuntimes"] == ["python3.12", "python3.13"]
    assert version["CompatibleArchitectures"] == ["arm64"]
    assert version["Content"]["CodeSize"] == zip_path.stat().st_size


def test_publishing_twice_makes_a_new_version(aws_env: str) -> None:
    """Without --zip it builds the layer itself; a second publish gets the next version number."""
    argv = ["layer", "publish", "--name", "zerolag-test-versions", "--region", "eu-west-1"]
    first = CliRunner().invoke(cli, argv)
    second = CliRunner().invoke(cli, argv)
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert int(second.output.strip().rsplit(":", 1)[1]) == int(first.output.strip().rsplit(":", 1)[1]) + 1
    version = _layer_version(boto3.client("lambda", region_name="eu-west-1"), first.output.strip())
    assert set(version["CompatibleArchitectures"]) == {"x86_64", "arm64"}
    assert "python3.12" in version["CompatibleRuntimes"]


def test_publish_failure_is_a_clear_error(tmp_path: Path) -> None:
    """With no reachable endpoint, publish exits non-zero with an error naming the layer, not a traceback."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_MAX_ATTEMPTS": "1",
    }
    argv = [
        sys.executable,
        "-m",
        "zerolag.cli.main",
        "layer",
        "publish",
        "--name",
        "nope",
        "--region",
        "eu-west-1",
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "publishing layer 'nope' failed" in result.stderr
    assert "Traceback" not in result.stderr
