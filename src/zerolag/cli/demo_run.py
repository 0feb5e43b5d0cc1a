"""The demo's scenarios: the example functions, their events, and running them in the emulator."""

from __future__ import annotations

import json
import socket
import statistics
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zerolag.cli.demo_stack import ORDERS_TABLE, RECEIPTS_BUCKET, Stack

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "functions"
POWERTOOLS_LAYER = Path(sys.prefix) / "layers" / "powertools"
WRAPPER = "/opt/zerolag-wrapper"


@dataclass(frozen=True)
class Scenario:
    """One example function and the events the demo sends it."""

    name: str
    code: Path
    events: tuple[Any, ...]
    timeout: float = 5.0
    extra_layers: tuple[Path, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    function: str
    status: str
    error_type: str | None
    request_id: str
    duration_ms: float


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_event(method: str, path: str, route: str, *, body: Any = None, params: Any = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event."""
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": "zerolag-demo"},
        "requestContext": {
            "apiId": "demo123",
            "domainName": "demo123.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": f"demo-{method.lower()}-{path}",
            "routeKey": f"{method} {route}",
            "stage": "$default",
        },
        "pathParameters": params or {},
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


def _api_events(count: int) -> tuple[Any, ...]:
    events: list[Any] = []
    for n in range(count):
        order = f"order-{n // 2}"
        if n % 2 == 0:
            body = {"id": order, "sku": "book", "quantity": 1 + n % 3}
            events.append(http_event("POST", "/orders", "/orders", body=body))
        else:
            events.append(http_event("GET", f"/orders/{order}", "/orders/{id}", params={"id": order}))
    return tuple(events)


def scenarios(stack: Stack, *, api_calls: int = 12) -> list[Scenario]:
    """The four example functions (the metrics one only when the powertools layer is installed)."""
    found = [
        Scenario(
            "orders-api",
            EXAMPLES / "api",
            _api_events(api_calls),
            env={
                "ORDERS_TABLE": ORDERS_TABLE,
                "RECEIPTS_BUCKET": RECEIPTS_BUCKET,
                "PRICING_URL": stack.pricing_url,
            },
        ),
        Scenario(
            "payments", EXAMPLES / "fails", tuple({"amount": 1299, "card": f"42{n:02d}"} for n in range(3))
        ),
        Scenario("report-builder", EXAMPLES / "slow", ({"report": "monthly", "seconds": 30},), timeout=1.0),
    ]
    if (POWERTOOLS_LAYER / "python").is_dir():
        events = tuple({"items": 1 + n % 4, "channel": ("web", "app")[n % 2]} for n in range(6))
        found.append(
            Scenario("checkout-metrics", EXAMPLES / "metrics", events, extra_layers=(POWERTOOLS_LAYER,))
        )
    return found


def backend_env(stack: Stack, endpoint: str, *, direct: bool = False) -> dict[str, str]:
    """How telemetry reaches the collector at ``endpoint`` with the key: the extension reads the key from
    Secrets Manager (moto) at init, as docs/deploy.md configures it; the direct exporter takes a header."""
    if direct:
        return {"ZEROLAG_OTLP_ENDPOINT": endpoint, "ZEROLAG_OTLP_HEADERS": f"x-api-key={stack.key}"}
    return {"ZEROLAG_OTLP_ENDPOINT": endpoint, "ZEROLAG_API_KEY_SECRET_ARN": stack.secret_arn}


def function_env(stack: Stack, scenario: Scenario) -> dict[str, str]:
    return (
        stack.aws_env()
        | backend_env(stack, stack.collector_url)
        | {
            "AWS_LAMBDA_EXEC_WRAPPER": WRAPPER,
            "ZEROLAG_EXTENSION_PORT": str(free_port()),
            "ZEROLAG_THUNDRA_PORT": str(free_port()),
        }
        | scenario.env
    )


def run_scenario(
    stack: Stack, scenario: Scenario, layer: Path, on_done: Callable[[Outcome], None]
) -> Iterator[Outcome]:
    """Invoke ``scenario``'s events one by one in one sandbox, then shut it down (the extension flushes)."""
    from zerolag.emulator import Sandbox

    sandbox = Sandbox(
        code=scenario.code,
        handler="app.handler",
        layers=[layer, *scenario.extra_layers],
        env=function_env(stack, scenario),
        timeout=scenario.timeout,
        memory_mb=256,
        function_name=scenario.name,
    )
    with sandbox as sb:
        for event in scenario.events:
            result = sb.invoke(event)
            outcome = Outcome(
                scenario.name, result.status, result.error_type, result.request_id, result.duration_ms
            )
            on_done(outcome)
            yield outcome


def summary_rows(outcomes: list[Outcome]) -> list[tuple[str, ...]]:
    """Per function: invocations, successes, errors, timeouts and the median duration."""
    rows: list[tuple[str, ...]] = []
    for name in dict.fromkeys(o.function for o in outcomes):
        mine = [o for o in outcomes if o.function == name]
        count = {status: sum(o.status == status for o in mine) for status in ("success", "error", "timeout")}
        p50 = statistics.median(o.duration_ms for o in mine)
        rows.append(
            (
                name,
                str(len(mine)),
                str(count["success"]),
                str(count["error"]),
                str(count["timeout"]),
                f"{p50:.1f}",
            )
        )
    return rows
