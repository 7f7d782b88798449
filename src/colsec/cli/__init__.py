"""The ``colsec`` command: one Typer app, composed here from each domain's command module.

Only the module of the command being run is imported: importing every domain (its services,
models and web helpers) cost about a second on each start, which every script and sensor hook that
calls the CLI paid.  ``COMMANDS`` names, for each top-level command, the modules that define it;
``tests/cli/test_lazy_commands.py`` holds it equal to the full composition.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated

import typer

__all__ = ["COMMANDS", "MODULES", "build_app", "main", "modules_for"]

# Every command module, in the order their commands are listed by ``colsec --help``.
MODULES: tuple[str, ...] = (
    "core",
    "accounts",
    "formats",
    "federation",
    "taxii",
    "intel",
    "match",
    "crisis",
    "exercises",
    "outbox",
    "groups",
    "jobs",
    "reports",
)

# Top-level command → the module that registers it on the root app.
COMMANDS: dict[str, str] = {
    "serve": "core",
    "import": "core",
    "export": "core",
    "stats": "core",
    "demo": "core",
    "db": "core",
    "audit": "core",
    "org": "accounts",
    "user": "accounts",
    "token": "accounts",
    "formats": "formats",
    "warninglist": "formats",
    "peer": "federation",
    "sharing-group": "federation",
    "sync": "federation",
    "taxii": "taxii",
    "collection": "taxii",
    "intel": "intel",
    "match": "match",
    "crisis": "crisis",
    "exercise": "exercises",
    "outbox": "outbox",
    "group": "groups",
    "worker": "jobs",
    "jobs": "jobs",
    "report": "reports",
}

# the commands that set a node up; every other one refuses to start an empty node
_CREATE_NODE = frozenset({"demo", "db", "serve"})
_HELP = "colsec: collective cyber security and crisis response node."


def _version(value: bool) -> None:
    if value:
        from colsec import __version__

        typer.echo(f"colsec {__version__}")
        raise typer.Exit()


def _root(
    ctx: typer.Context,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit")
    ] = False,
) -> None:
    """colsec: collective cyber security and crisis response node."""
    from colsec.cli.common import allow_new_node, begin_invocation

    begin_invocation()
    if ctx.invoked_subcommand in _CREATE_NODE:
        allow_new_node()


def build_app(modules: Iterable[str] = MODULES) -> typer.Typer:
    """A root app holding the commands of ``modules`` (all by default); each call builds a new one."""
    app = typer.Typer(
        name="colsec", help=_HELP, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False
    )
    app.callback()(_root)
    for name in modules:
        importlib.import_module(f"colsec.cli.{name}").register(app)
    return app


def modules_for(args: Sequence[str]) -> tuple[str, ...]:
    """The modules a command line needs: its command's module, none for ``--version`` alone, and
    every one otherwise (``--help``, no command, an unknown name: the full list is shown)."""
    if args and args[0] in COMMANDS:
        return (COMMANDS[args[0]],)
    if list(args) == ["--version"]:
        return ()
    return MODULES


_full_app: typer.Typer | None = None


def __getattr__(name: str) -> typer.Typer:
    """``colsec.cli.app``: every command, built on first use (tests drive it with CliRunner)."""
    global _full_app
    if name != "app":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _full_app is None:
        _full_app = build_app()
    return _full_app


def main() -> None:
    build_app(modules_for(sys.argv[1:]))()
