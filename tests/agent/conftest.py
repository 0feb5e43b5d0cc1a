"""Fixtures for the agent's tests: an OTLP sink, a hanging endpoint, moto's server, and a layer directory
laid out like zerolag's (python/zerolag with the agent and wrapper, /opt/zerolag-wrapper)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_sink import HangingServer, Sink

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src" / "zerolag"
EXAMPLES = REPO / "examples" / "agent"


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink()
    yield s
    s.close()


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    h = HangingServer()
    yield h
    h.close()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def agent_layer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A layer dir with the agent as the layer builder lays it out (python/zerolag, zerolag-wrapper)."""
    root = tmp_path_factory.mktemp("layer")
    pkg = root / "python" / "zerolag"
    pkg.mkdir(parents=True)
    shutil.copy(SRC / "__init__.py", pkg / "__init__.py")
    ignore = shutil.ignore_patterns("__pycache__")
    for sub in ("agent", "wrapper"):
        shutil.copytree(SRC / sub, pkg / sub, ignore=ignore)
    shutil.copy(SRC / "wrapper" / "zerolag-wrapper", root / "zerolag-wrapper")
    (root / "zerolag-wrapper").chmod(0o755)
    return root


@pytest.fixture(scope="session")
def otel_layer() -> Path:
    path = REPO / ".venv" / "layers" / "otel-sdk"
    if not (path / "python" / "opentelemetry").is_dir():
        pytest.skip("the otel-sdk layer is not installed (make venv)")
    return path


def function_env(moto_url: str, **extra: str) -> dict[str, str]:
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
    env.update(extra)
    return env
