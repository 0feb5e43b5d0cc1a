"""``zerolag emulate``: run a function in the local Lambda emulator.

Without ``--serve`` it invokes each ``--invoke`` payload in order (``{}`` when none is given), shuts down, and
prints each result as one JSON line on stdout. Function, extension and platform (START/END/REPORT) lines
stream to stderr as they happen, as CloudWatch would show them. ``--serve PORT`` exposes the RIE-compatible
``POST /2015-03-31/functions/<name>/invocations`` (the Lambda Invoke API, as boto3 calls it; the name
``function`` works too, as with the RIE) until interrupted; ``--concurrency N`` scales to N sandboxes.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

import click

from zerolag.emulator import InvokeResult, LogLine, Sandbox
from zerolag.emulator.deployment_zip import UnsafeZipError
from zerolag.emulator.pool import Pool
from zerolag.emulator.runtimes import RuntimeNotAvailable
from zerolag.emulator.runtimes import resolve as resolve_runtime


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
        "latencyMs": result.latency_ms,
        "durationMs": result.duration_ms,
        "billedDurationMs": result.billed_duration_ms,
        "reportStatus": result.report_status,
        "reportErrorType": result.report_error_type,
        "postRuntimeMs": result.post_runtime_ms,
        "initDurationMs": result.init_duration_ms,
        "maxMemoryUsedMB": result.max_memory_used_mb,
    }


def _serve(pool: Pool, host: str, port: int, function_name: str) -> None:
    from zerolag.emulator.serve import start_invoke_server, stop_invoke_server

    server = start_invoke_server(pool, host, port, function_name=function_name)
    bound = server.server_address[1]
    click.echo(f"serving POST http://{host}:{bound}/2015-03-31/functions/function/invocations", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stop_invoke_server(server)


@click.command("emulate")
@click.option(
    "--code", "code", required=True, type=click.Path(exists=True), help="Function code: dir or zip."
)
@click.option("--handler", required=True, help="MOD.FN (FILE.FN with nodejs*; anything with provided*).")
@click.option(
    "--layer", "layers", multiple=True, type=click.Path(exists=True), help="Layer dir or zip, in order."
)
@click.option("--env", "env_pairs", multiple=True, help="Function environment variable K=V.")
@click.option("--timeout", type=float, default=3.0, show_default=True, help="Function timeout in seconds.")
@click.option("--memory", type=int, default=128, show_default=True, help="Memory size in MB.")
@click.option("--invoke", "payloads", multiple=True, help="A JSON payload; repeat to invoke several times.")
@click.option("--serve", "serve_port", type=int, default=None, help="Serve the RIE invoke endpoint on PORT.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address for --serve.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="With --serve: keep up to N sandboxes (cold-starting new ones on demand); beyond N busy ones a "
    "request gets 429 TooManyRequestsException. Default: one sandbox, requests wait their turn.",
)
@click.option("--no-freeze", is_flag=True, help="Do not freeze the sandbox between invocations.")
@click.option(
    "--runtime",
    default=None,
    help="python3.X (an installed interpreter of that version; default: this one's), nodejs18.x / "
    "nodejs20.x / nodejs22.x (Node.js, no Python in the sandbox), provided.al2023 / provided.al2 (a "
    "bootstrap in the code or a layer, no Python in the sandbox) or provided (the same, with the Python "
    "runtime's /var/lang).",
)
@click.option(
    "--ephemeral-storage",
    "ephemeral_mb",
    type=click.IntRange(512, 10240),
    default=512,
    show_default=True,
    help="Size of /tmp in MB, as Lambda's EphemeralStorage.",
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
    concurrency: int | None,
    no_freeze: bool,
    runtime: str | None,
    ephemeral_mb: int,
    function_name: str,
) -> None:
    """Run a function in the local Lambda emulator."""
    env = _parse_env(env_pairs)
    parsed = [_parse_payload(p) for p in payloads] or [{}]
    if runtime:
        try:
            resolve_runtime(runtime)  # an unknown or missing runtime fails clearly, before anything starts
        except RuntimeNotAvailable as exc:
            raise click.BadParameter(str(exc), param_hint="--runtime") from exc
    if concurrency is not None and serve_port is None:
        raise click.BadParameter("only with --serve", param_hint="--concurrency")

    def make() -> Sandbox:
        # Every sandbox (the one of a plain run, each of --serve's pool) gets the same options.
        return Sandbox(
            code=code,
            handler=handler,
            layers=list(layers),
            env=env,
            timeout=timeout,
            memory_mb=memory,
            freeze=not no_freeze,
            function_name=function_name,
            runtime=runtime,
            ephemeral_storage_mb=ephemeral_mb,
            on_log=_print_line,
        )

    if serve_port is not None:
        pool = Pool(make, concurrency)
        try:
            try:
                pool.start()  # a refused zip or a runtime that cannot be had: a clear error, not a traceback
            except (UnsafeZipError, RuntimeNotAvailable) as exc:
                raise click.ClickException(str(exc)) from exc
            _serve(pool, host, serve_port, function_name)
        finally:
            pool.close()
        return
    sandbox = make()
    try:
        sandbox.start()  # a refused zip or a runtime that cannot be had: a clear error, not a traceback
    except (UnsafeZipError, RuntimeNotAvailable) as exc:
        raise click.ClickException(str(exc)) from exc
    failed = False
    with sandbox as sb:
        for payload in parsed:
            result = sb.invoke(payload)
            failed = failed or not result.ok
            click.echo(json.dumps(result_json(result)))
    if failed:
        sys.exit(1)
