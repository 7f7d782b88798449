"""The ``colsec`` command: one Typer app; each domain adds its sub-commands here."""

from __future__ import annotations

from typing import Annotated

import typer

from colsec.cli import accounts, core, federation, formats, intel, jobs, match, outbox, taxii
from colsec.cli import crisis as crisis_cli
from colsec.cli import groups as groups_cli
from colsec.cli.common import allow_new_node, begin_invocation

# the commands that set a node up; every other one refuses to start an empty node
_CREATE_NODE = frozenset({"demo", "db", "serve"})

__all__ = ["app", "main"]

app = typer.Typer(
    name="colsec",
    help="colsec: collective cyber security and crisis response node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from colsec import __version__

        typer.echo(f"colsec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """colsec: collective cyber security and crisis response node."""
    begin_invocation()
    if ctx.invoked_subcommand in _CREATE_NODE:
        allow_new_node()


core.register(app)
accounts.register(app)
formats.register(app)
federation.register(app)
taxii.register(app)
intel.register(app)
match.register(app)
crisis_cli.register(app)
outbox.register(app)
groups_cli.register(app)
jobs.register(app)


def main() -> None:
    app()
