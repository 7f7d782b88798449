"""The ``colsec`` command: one Typer app; each domain adds its sub-commands here."""

from __future__ import annotations

import typer

from colsec.cli import accounts, core, federation, formats, intel, match, taxii
from colsec.cli import crisis as crisis_cli

__all__ = ["app", "main"]

app = typer.Typer(
    name="colsec",
    help="colsec: collective cyber security and crisis response node.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
core.register(app)
accounts.register(app)
formats.register(app)
federation.register(app)
taxii.register(app)
intel.register(app)
match.register(app)
crisis_cli.register(app)


def main() -> None:
    app()
