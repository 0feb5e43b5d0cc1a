"""``zerolag layer``: build, verify and publish the Lambda layer (thin commands over ``zerolag.layer``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_OUT = Path("dist") / "zerolag-layer.zip"


@click.group()
def layer() -> None:
    """Build, verify and publish the zerolag Lambda layer."""


@layer.command()
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT, show_default=True
)
@click.option(
    "--compile",
    "compile_",
    is_flag=True,
    help="Ship byte-compiled .pyc (unchecked-hash) for a faster cold start on a runtime of the same version.",
)
@click.option(
    "--python",
    "pythons",
    multiple=True,
    help="Interpreter that byte-compiles with --compile (repeatable: one per Lambda runtime version you "
    "target, e.g. --python python3.12 --python python3.13). Default: this interpreter.",
)
@click.option(
    "--any-runtime",
    is_flag=True,
    help="Build the any-runtime layer instead: the extension plus a bundled CPython, one zip per "
    "architecture (zerolag-layer-any-<arch>.zip in --out-dir). The first build compiles CPython "
    "(docs/layer.md); later builds reuse the cache.",
)
@click.option(
    "--arch",
    "arches",
    multiple=True,
    type=click.Choice(["x86_64", "arm64"]),
    help="With --any-runtime: the architecture to build (repeatable; default both).",
)
@click.option(
    "--out-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_OUT.parent,
    show_default=True,
    help="With --any-runtime: where the zips go.",
)
def build(  # noqa: PLR0917 - click passes every option as a keyword
    out: Path,
    compile_: bool,
    pythons: tuple[str, ...],
    any_runtime: bool,
    arches: tuple[str, ...],
    out_dir: Path,
) -> None:
    """Build the layer zip from this source tree."""
    from zerolag.layer.build import LayerBuildError, build_layer

    if any_runtime:
        _build_any(out_dir, arches)
        return
    try:
        path = build_layer(out, compile_with=(pythons or (sys.executable,)) if compile_ else None)
    except LayerBuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{path} ({path.stat().st_size / 1024:.1f} KiB)")


def _build_any(out_dir: Path, arches: tuple[str, ...]) -> None:
    from zerolag.layer.anyruntime.build_python import BuildError
    from zerolag.layer.anyruntime.layer import ZIP_BUDGET_BYTES, build_any_layer

    def progress(message: str) -> None:
        click.echo(message, err=True)

    try:
        paths = build_any_layer(out_dir, arches=arches or ("x86_64", "arm64"), progress=progress)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in paths:
        size = path.stat().st_size
        over = "" if size < ZIP_BUDGET_BYTES else f"  OVER the {ZIP_BUDGET_BYTES // 2**20} MiB budget"
        click.echo(f"{path} ({size / 2**20:.2f} MiB){over}")


@layer.command()
@click.argument("zip_path", metavar="ZIP", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--no-run", is_flag=True, help="Check the structure only; do not run the layer in the emulator."
)
@click.option("--timeout", type=float, default=3.0, show_default=True, help="The function's timeout (s).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
def verify(zip_path: Path, no_run: bool, timeout: float, as_json: bool) -> None:
    """Check a layer zip's structure and run it in the emulator with a tiny handler."""
    from zerolag.layer.verify import report_json, verify_layer

    report = verify_layer(zip_path, run=not no_run, timeout=timeout)
    if as_json:
        click.echo(report_json(report))
        if not report.ok:
            raise SystemExit(1)
        return
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        detail = f"  ({check.detail})" if check.detail else ""
        click.echo(f"{mark} {check.name}{detail}")
    if not report.ok:
        raise click.ClickException(f"{zip_path}: {report.failures} check(s) failed")
    click.echo(f"{zip_path}: all {len(report.checks)} checks passed")


@layer.command()
@click.option("--name", required=True, help="Layer name.")
@click.option("--region", required=True, help="AWS region to publish in.")
@click.option(
    "--arch",
    "architectures",
    multiple=True,
    type=click.Choice(["x86_64", "arm64"]),
    help="Compatible architecture (repeatable; default both: the layer is pure Python and sh).",
)
@click.option(
    "--runtimes", "runtimes", multiple=True, help="Compatible runtime (repeatable), e.g. python3.12."
)
@click.option(
    "--zip",
    "zip_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Layer zip to publish (default: build one from this source tree).",
)
@click.option("--description", default=None, help="Layer version description.")
def publish(
    *,
    name: str,
    region: str,
    architectures: tuple[str, ...],
    runtimes: tuple[str, ...],
    zip_path: Path | None,
    description: str | None,
) -> None:
    """Publish the layer with boto3 and print the layer version ARN."""
    from zerolag.layer.publish import PublishError, publish_layer

    try:
        arn = publish_layer(
            name=name,
            region=region,
            zip_path=zip_path,
            architectures=list(architectures) or None,
            runtimes=list(runtimes) or None,
            description=description,
        )
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(arn)
