"""Publish the layer to AWS Lambda with boto3 (the ``aws`` extra; imported only here, on demand).

The endpoint follows boto3's own configuration, so ``AWS_ENDPOINT_URL`` points it at moto's server in tests.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zerolag.layer.build import build_layer

# The layer is POSIX sh plus pure Python, so it runs on both architectures and every Python 3.10+ runtime.
DEFAULT_ARCHITECTURES: tuple[str, ...] = ("x86_64", "arm64")
DEFAULT_RUNTIMES: tuple[str, ...] = ("python3.10", "python3.11", "python3.12", "python3.13")
# The any-runtime layer (docs/layer.md): one architecture per zip; CompatibleRuntimes holds at most 15.
ANY_RUNTIMES: tuple[str, ...] = (
    "nodejs18.x", "nodejs20.x", "nodejs22.x", "java17", "java21", "dotnet8",
    "provided.al2", "provided.al2023", "python3.11", "python3.12", "python3.13",
)  # fmt: skip
_ELF_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}
DEFAULT_DESCRIPTION = "zerolag: zero-overhead telemetry (extension, agent, exec wrapper)"
MAX_DIRECT_UPLOAD_BYTES = 50 * 1024 * 1024  # PublishLayerVersion's limit for an inline ZipFile


class PublishError(RuntimeError):
    """Publishing failed: boto3 is missing, credentials are missing, or AWS refused the request."""


def _lambda_client(region: str) -> Any:
    try:
        import boto3
    except ImportError as exc:
        raise PublishError("publishing needs boto3: pip install 'zerolag[aws]'") from exc
    return boto3.client("lambda", region_name=region)


def publish_zip(
    client: Any,
    *,
    name: str,
    zip_bytes: bytes,
    architectures: Sequence[str],
    runtimes: Sequence[str],
    description: str,
) -> str:
    """Publish ``zip_bytes`` as a new version of layer ``name`` and return its LayerVersionArn."""
    if len(zip_bytes) > MAX_DIRECT_UPLOAD_BYTES:
        raise PublishError(f"the layer zip is {len(zip_bytes)} bytes, over the 50 MB direct upload limit")
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        reply = client.publish_layer_version(
            LayerName=name,
            Description=description,
            Content={"ZipFile": zip_bytes},
            CompatibleRuntimes=list(runtimes),
            CompatibleArchitectures=list(architectures),
            LicenseInfo="Apache-2.0",
        )
    except (BotoCoreError, ClientError) as exc:
        raise PublishError(f"publishing layer {name!r} failed: {exc}") from exc
    return str(reply["LayerVersionArn"])


def bundled_arch(zip_bytes: bytes) -> str | None:
    """The Lambda architecture of an any-runtime layer's bundled interpreter; None for the Python layer."""
    import io
    import zipfile

    from zerolag.layer.anyruntime import elf
    from zerolag.layer.anyruntime.layer import BUNDLED_EXECUTABLE

    try:
        with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
            if BUNDLED_EXECUTABLE.as_posix() not in archive.namelist():
                return None
            machine = elf.parse(archive.read(BUNDLED_EXECUTABLE.as_posix())).machine_name
    except (zipfile.BadZipFile, elf.ElfError) as exc:
        raise PublishError(f"the layer zip is unreadable: {exc}") from exc
    return _ELF_ARCH.get(machine, machine)


def publish_layer(
    *,
    name: str,
    region: str,
    zip_path: Path | None = None,
    architectures: Sequence[str] | None = None,
    runtimes: Sequence[str] | None = None,
    description: str | None = None,
) -> str:
    """Publish ``zip_path`` (or a layer built now from this source tree) and return the version ARN."""
    client = _lambda_client(region)
    if zip_path is None:
        with tempfile.TemporaryDirectory(prefix="zerolag-publish-") as tmp:
            zip_bytes = build_layer(Path(tmp) / "layer.zip").read_bytes()
    else:
        zip_bytes = Path(zip_path).read_bytes()
    arch = bundled_arch(zip_bytes)
    if arch is not None:  # an any-runtime layer runs on its interpreter's architecture only
        if architectures and list(architectures) != [arch]:
            raise PublishError(
                f"this layer's interpreter is {arch}; it cannot be published for {architectures}"
            )
        architectures, runtimes = [arch], runtimes or ANY_RUNTIMES
    return publish_zip(
        client,
        name=name,
        zip_bytes=zip_bytes,
        architectures=architectures or DEFAULT_ARCHITECTURES,
        runtimes=runtimes or DEFAULT_RUNTIMES,
        description=description or DEFAULT_DESCRIPTION,
    )
