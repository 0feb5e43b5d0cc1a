"""Entry point of the ``zerolag`` CLI.

Subcommands live in their own modules and are imported only when invoked, so ``zerolag --help`` and each
command pay only for what they use.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, one-line help). Each module defines a click command or group.
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "emulate": ("zerolag.cli.emulate", "emulate", "Run a function in the local Lambda emulator."),
    "layer": ("zerolag.cli.layer", "layer", "Build, verify and publish the Lambda layer."),
    "collector": (
        "zerolag.cli.collector",
        "collector",
        "Run the OTLP collector with its SQLite store and viewer.",
    ),
    "traces": ("zerolag.cli.traces", "traces", "Browse stored traces in the terminal."),
    "demo": ("zerolag.cli.demo", "demo", "Run the whole loop on this machine and print the comparison."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return None
        module = importlib.import_module(spec[0])
        command = getattr(module, spec[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, spec[2]) for name, spec in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
@click.version_option(package_name="zerolag")
def cli() -> None:
    """zerolag: zero-overhead telemetry for AWS Lambda."""


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
