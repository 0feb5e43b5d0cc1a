"""What Lambda charges, for the overview's cost estimate. The one place the price table lives.

Source: AWS Lambda pricing, https://aws.amazon.com/lambda/pricing/ (read 2026-11; unchanged since the
2022 arm64 price cut), on-demand, US East (N. Virginia), first pricing tier (the first 6 billion
GB-seconds a month for x86, 7.5 billion for arm). Duration is billed per GB-second of configured memory
times billed duration; every request adds a flat charge. Not included: higher-volume tier discounts,
Savings Plans, the free tier, ephemeral storage above 512 MB, provisioned concurrency, data transfer.
Documented with the same source in docs/collector.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SOURCE: Final = "https://aws.amazon.com/lambda/pricing/ (us-east-1 on-demand, first tier, read 2026-11)"


@dataclass(frozen=True)
class Price:
    gb_second_usd: float
    request_usd: float


REQUEST_USD: Final = 0.20 / 1_000_000
PRICES: Final = {
    "x86_64": Price(gb_second_usd=0.0000166667, request_usd=REQUEST_USD),
    "arm64": Price(gb_second_usd=0.0000133334, request_usd=REQUEST_USD),
}
# what resources say for the architecture (``host.arch`` semantic convention and Lambda's own names)
_ALIASES: Final = {
    "amd64": "x86_64",
    "x86_64": "x86_64",
    "x86": "x86_64",
    "arm64": "arm64",
    "aarch64": "arm64",
}
DEFAULT_ARCH: Final = "x86_64"


def architecture(value: object) -> str | None:
    """``x86_64`` or ``arm64`` for a resource's ``host.arch`` (or Lambda's name), ``None`` when unknown."""
    return _ALIASES.get(str(value).strip().lower()) if value else None


def gb_seconds(billed_ms: float, memory_mb: float) -> float:
    """Billed GB-seconds of one invocation (Lambda counts memory in MB, 1 GB = 1024 MB)."""
    return billed_ms / 1000 * memory_mb / 1024


def cost_usd(gb_s: float, requests: int, arch: str) -> float:
    """Duration plus request charge, in USD."""
    price = PRICES.get(arch, PRICES[DEFAULT_ARCH])
    return gb_s * price.gb_second_usd + requests * price.request_usd


def duration_cost_usd(gb_s: float, arch: str) -> float:
    return gb_s * PRICES.get(arch, PRICES[DEFAULT_ARCH]).gb_second_usd
