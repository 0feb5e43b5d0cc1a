"""``zerolag emulate``: run a function in the local Lambda emulator.

Without ``--serve`` it invokes each ``--invoke`` payload in order (``{}`` when none is given), shuts down, and
prints each result as one JSON line on stdout. Function, extension and platform (START/END/REPORT) lines
stream to stderr as they happen, as CloudWatch would show them. ``--serve PORT`` exposes the RIE-compatible
``POST /2015-03-31/functions/function/invocations`` until interrupted.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click

from zerolag.emulator import InvokeResult, LogLine, Sandbox


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected K=V, got {pair!r}", param_hint="--env")
        env[key] = value
    return env


def _parse_payload(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {text!r} ({exc})", param_hint="--invoke") from exc


def _print_line(line: LogLine) -> None:
    """One log line to stderr; awslambdaric joins multi-line errors with \\r, shown as line breaks here."""
    sys.stderr.write(line.text.replace("\r", "\n    ") + "\n")
    sys.stderr.flush()


def result_json(result: InvokeResult) -> dict[str, Any]:
    """One result as printed by the CLI."""
    try:
        body: Any = result.json()
    except ValueError:
        body = result.body.decode("utf-8", errors="replace")
    return {
        "requestId": result.request_id,
        "status": result.status,
        "errorType": result.error_type,
        "body": body,
        "durationMs": result.duration_ms,
        "billedDurationMs": result.billed_duration_ms,
        "postRuntimeMs": result.post_runtime_ms,
        "initDurationMs": result.init_duration_ms,
        "maxMemoryUsedMB": result.max_memory_used_mb,
    }


def _serve(sb: Sandbox, host: str, port: int) -> None:
    from zerolag.emulator.serve import start_invoke_server

    server = start_invoke_server(sb, host, port)
    bound = server.server_address[1]
    click.echo(f"serving POST http://{host}:{bound}/2015-03-31/functions/function/invocations", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


@click.command("emulate")
@click.option(
    "--code", "code", required=True, type=click.Path(exists=True), help="Function code: dir or zip."
)
@click.option("--handler", required=True, help="MOD.FN (or anything, with --runtime provided).")
@click.option(
    "--layer", "layers", multiple=True, type=click.Path(exists=True), help="Layer dir or zip, in order."
)
@click.option("--env", "env_pairs", multiple=True, help="Function environment variable K=V.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Function timeout in seconds.")
@click.option("--memory", type=int, default=128, show_default=True, help="Memory size in MB.")
@click.option("--invoke", "payloads", multiple=True, help="A JSON payload; repeat to invoke several times.")
@click.option("--serve", "serve_port", type=int, default=None, help="Serve the RIE invoke endpoint on PORT.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --serve.")
@click.option("--no-freeze", is_flag=True, help="Do not freeze the sandbox between invocations.")
@click.option(
    "--runtime",
    default="python3.11",
    show_default=True,
    help="python3.11, nodejs20.x (no Python in the sandbox), or provided / provided.al2023 (bootstrap).",
)
@click.option("--function-name", default="function", show_default=True)
def emulate(
    *,
    code: str,
    handler: str,
    layers: tuple[str, ...],
    env_pairs: tuple[str, ...],
    timeout: float,
    memory: int,
    payloads: tuple[str, ...],
    serve_port: int | None,
    host: str,
    no_freeze: bool,
    runtime: str,
    function_name: str,
) -> None:
    """Run a function in the local Lambda emulator."""
    env = _parse_env(env_pairs)
    parsed = [_parse_payload(p) for p in payloads] or [{}]
    sandbox = Sandbox(
        code=code,
        handler=handler,
        layers=list(layers),
        env=env,
        timeout=timeout,
        memory_mb=memory,
        freeze=not no_freeze,
        function_name=function_name,
        runtime=runtime,
        on_log=_print_line,
    )
    failed = False
    with sandbox as sb:
        if serve_port is not None:
            _serve(sb, host, serve_port)
            return
        for payload in parsed:
            result = sb.invoke(payload)
            failed = failed or not result.ok
            click.echo(json.dumps(result_json(result)))
    if failed:
        sys.exit(1)
