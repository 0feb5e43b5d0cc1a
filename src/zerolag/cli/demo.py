"""``zerolag demo``: the whole loop on this machine, ending with the comparison table and where to look.

Builds the layer from source, starts the collector (temporary SQLite file, generated key) and moto's server,
runs examples/functions in the emulator with the layer, compares direct reporting with the extension, and
prints the viewer URL and the ``zerolag traces`` commands. ``--serve`` keeps the collector up until Ctrl-C.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from zerolag.cli.demo_stack import DemoError, Stack


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _stored(stack: Stack) -> list[dict[str, Any]]:
    request = urllib.request.Request(f"{stack.collector_url}/api/invocations?limit=1000")
    request.add_header("X-Api-Key", stack.key)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    rows = body.get("invocations", body) if isinstance(body, dict) else body
    return [row for row in rows if isinstance(row, dict)]


def _check_pieces() -> None:
    from zerolag.cli.demo_run import EXAMPLES

    if not (EXAMPLES / "api" / "app.py").is_file():
        raise DemoError(f"the example functions are not at {EXAMPLES}: run the demo from a clone of zerolag")
    for module, what in (("zerolag.emulator", "the emulator"), ("zerolag.extension", "the extension")):
        try:
            __import__(module)
        except ImportError as exc:
            raise DemoError(f"{what} is not available ({exc})") from exc


def _build(work: Path) -> tuple[Path, Path]:
    from zerolag.cli.demo_compare import agent_only_layer
    from zerolag.layer.build import build_layer, build_layer_tree

    # Byte-compiled for this interpreter, which is also the emulator's runtime: a realistic cold start.
    layer_zip = build_layer(work / "zerolag-layer.zip", compile_with=sys.executable)
    agent_layer = agent_only_layer(build_layer_tree(work / "layer"), work / "agent-only-layer")
    return layer_zip, agent_layer


def _run_all(stack: Stack, layer_zip: Path, agent_layer: Path, invocations: int) -> tuple[list[Any], str]:
    from zerolag.cli import demo_compare, demo_run

    found = demo_run.scenarios(stack)
    if not any(s.name == "checkout-metrics" for s in found):
        click.echo(
            "  note: the powertools layer is missing (.venv/layers/powertools; run make venv): skipped"
        )
    modes = demo_compare.modes(stack, layer_zip, agent_layer)
    total = sum(len(s.events) for s in found) + len(modes) * (demo_compare.WARMUP + invocations)
    outcomes: list[Any] = []
    with click.progressbar(length=total, label="Invoking", show_pos=True, width=30) as bar:
        for scenario in found:
            outcomes += list(demo_run.run_scenario(stack, scenario, layer_zip, lambda _o: bar.update(1)))
        measured = demo_compare.run_modes(stack, modes, invocations, lambda: bar.update(1))
    click.echo("")
    header = ("function", "invocations", "ok", "errors", "timeouts", "p50 ms")
    click.echo(_table(header, demo_run.summary_rows(outcomes)))
    return outcomes, demo_compare.format_table(demo_compare.summarize(measured), invocations)


def _overview_url(stack: Stack) -> str:
    """The viewer's home page (the functions overview) over the last hour, logged in by ``?key=``."""
    return f"{stack.collector_url}/?since=1h&key={stack.key}"


def _where_to_look(stack: Stack, outcomes: list[Any]) -> None:
    try:
        stored = _stored(stack)
    except (OSError, ValueError) as exc:
        click.echo(f"  could not read the collector back: {exc}")
        stored = []
    click.echo(f"\nThe collector holds {len(stored)} invocations. Where to look:")
    click.echo(f"  overview   {_overview_url(stack)}")
    click.echo(f"  terminal   zerolag traces --db {stack.db_path} list")
    failed = next((o for o in outcomes if o.status != "success"), None)
    example = failed.request_id if failed else (outcomes[0].request_id if outcomes else "REQUEST_ID")
    click.echo(f"             zerolag traces --db {stack.db_path} show {example}")
    click.echo(f"             zerolag traces --db {stack.db_path} list --status error")


def _serve(stack: Stack) -> None:
    click.echo(f"\nServing the collector and viewer at {stack.collector_url} — press Ctrl-C to stop.")
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        click.echo("\nStopped.")


@click.command()
@click.option("--serve", is_flag=True, help="Keep the collector and viewer running until Ctrl-C.")
@click.option(
    "--invocations", type=click.IntRange(5, 10000), default=40, show_default=True, help="Per comparison mode."
)
@click.option("--dir", "work_dir", type=click.Path(file_okay=False, path_type=Path), help="Keep files here.")
def demo(serve: bool, invocations: int, work_dir: Path | None) -> None:
    """Run the whole loop on this machine and print the comparison."""
    started = time.monotonic()
    work = work_dir or Path(tempfile.mkdtemp(prefix="zerolag-demo-"))
    work.mkdir(parents=True, exist_ok=True)
    click.echo("zerolag demo: the extension, the agent and the collector, all on this machine\n")
    try:
        _check_pieces()
        layer_zip, agent_layer = _build(work)
        with ExitStack() as resources:
            from zerolag.cli.demo_stack import BACKEND_RTT_MS, start_stack

            stack = start_stack(resources, work)
            click.echo(f"  overview   {_overview_url(stack)}")  # first: where the results will show
            size_kib = layer_zip.stat().st_size / 1024
            click.echo(f"  layer      {layer_zip} ({size_kib:.0f} KiB, built from source, with .pyc)")
            click.echo(f"  collector  {stack.collector_url} (SQLite {stack.db_path})")
            click.echo(f"  moto       {stack.moto_url} (DynamoDB, S3, Secrets Manager)")
            far = f"collector + {BACKEND_RTT_MS} ms; measured +{stack.measured_rtt_ms:.1f} ms a request"
            click.echo(f"  far away   {stack.far_collector_url} ({far})\n")
            outcomes, comparison = _run_all(stack, layer_zip, agent_layer, invocations)
            click.echo("\nWhat reporting costs each invocation:\n")
            click.echo(comparison)
            _where_to_look(stack, outcomes)
            click.echo(f"\nDone in {time.monotonic() - started:.0f} s.")
            if serve:
                _serve(stack)
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
