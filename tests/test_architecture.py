"""The import rules of docs/architecture: what each component may import, checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "zerolag"

# component -> the zerolag components it must never import
FORBIDDEN: dict[str, set[str]] = {
    "agent": {"emulator", "collector", "layer", "cli", "extension"},
    "extension": {"emulator", "collector", "layer", "cli", "agent"},
    "wrapper": {"emulator", "collector", "layer", "cli", "extension"},
    "emulator": {"agent", "extension", "collector", "cli"},
    "collector": {"cli", "emulator"},
    "layer": {"cli"},
    "otlp": {"agent", "extension", "emulator", "collector", "layer", "cli", "wrapper"},
    "lambda_wire": {"agent", "extension", "emulator", "collector", "layer", "cli", "wrapper", "otlp"},
}

# What runs inside Lambda stays on the standard library.
IN_LAMBDA = {"agent", "extension", "wrapper", "otlp", "lambda_wire"}
# The agent touches these only to instrument them once the user's own code has imported them.
THIRD_PARTY_ALLOWED_IN_LAMBDA = {"opentelemetry", "botocore", "urllib3", "requests"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _component_files(component: str) -> list[Path]:
    base = SRC / component
    if base.is_dir():
        return sorted(base.rglob("*.py"))
    single = SRC / f"{component}.py"
    return [single] if single.exists() else []


@pytest.mark.parametrize("component", sorted(FORBIDDEN))
def test_component_respects_import_rules(component: str) -> None:
    """No component imports a component that the architecture forbids it to."""
    violations = []
    for path in _component_files(component):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] == "zerolag" and len(parts) > 1 and parts[1] in FORBIDDEN[component]:
                violations.append(f"{path.relative_to(SRC)} imports {name}")
    assert violations == []


@pytest.mark.parametrize("component", sorted(IN_LAMBDA))
def test_code_running_in_lambda_uses_only_the_standard_library(component: str) -> None:
    """The agent, extension, wrapper and shared wire/OTLP modules import only stdlib and zerolag."""
    import sys

    stdlib = set(sys.stdlib_module_names)
    violations = []
    for path in _component_files(component):
        for name in _imports(path):
            top = name.split(".")[0]
            if top not in stdlib and top != "zerolag" and top not in THIRD_PARTY_ALLOWED_IN_LAMBDA:
                violations.append(f"{path.relative_to(SRC)} imports {name}")
    assert violations == []
