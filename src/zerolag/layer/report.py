"""The verification report: one ``Check`` per verified property of a layer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Check:
    """One verified property of the layer."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class Report:
    """Every check made, in order."""

    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(not check.ok for check in self.checks)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and self.failures == 0
