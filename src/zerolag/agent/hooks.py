"""Lazy instrumentation: patch a library when, and only when, something imports it.

A ``sys.meta_path`` finder sits first and answers only for the registered module names: it asks the other
finders for the real spec and wraps its loader, so that right after the module executes the patch is applied.
A library that is already imported is patched at once. Any other import costs one dict lookup.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any

    Patcher = Callable[[ModuleType], None]

_patchers: dict[str, Patcher] = {}
errors: list[str] = []


def _apply(name: str, patcher: Patcher, module: ModuleType) -> None:
    try:
        patcher(module)
    except Exception as exc:  # a library version we do not understand: leave it alone
        errors.append(f"{name}: {type(exc).__name__}: {exc}")


class _PatchingLoader:
    def __init__(self, loader: Any, name: str, patcher: Patcher) -> None:
        self._loader = loader
        self._name = name
        self._patcher = patcher

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _apply(self._name, self._patcher, module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class Finder:
    """The meta-path finder; it never finds a module itself, it only wraps the real loader."""

    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        patcher = _patchers.get(name)
        if patcher is None:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, Finder):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec: ModuleSpec | None = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            spec.loader = _PatchingLoader(loader, name, patcher)  # type: ignore[assignment]
        return spec

    def invalidate_caches(self) -> None:
        """Nothing cached."""


def register(name: str, patcher: Patcher) -> None:
    """Apply ``patcher`` to module ``name`` now if it is imported, else right after its first import."""
    module = sys.modules.get(name)
    if module is not None:
        _apply(name, patcher, module)
        return
    _patchers[name] = patcher
    if not any(isinstance(f, Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, Finder())


def unregister_all() -> None:
    """Forget every pending patch and remove the finder (for tests)."""
    _patchers.clear()
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, Finder)]
