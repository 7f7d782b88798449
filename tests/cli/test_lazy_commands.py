"""The CLI loads only the invoked command's module: the name table must equal the full composition,
and a command run must not import the other domains."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import typer.main
from typer.core import TyperGroup

from colsec.cli import COMMANDS, MODULES, build_app, modules_for


def _tree(command: Any) -> dict[str, Any]:
    """What a user can type: options, arguments and sub-commands, recursively."""
    node: dict[str, Any] = {
        "params": sorted((p.name or "", tuple(getattr(p, "opts", ()))) for p in command.params),
        "help": command.help,
    }
    if isinstance(command, TyperGroup):
        node["commands"] = {name: _tree(sub) for name, sub in command.commands.items()}
    return node


@pytest.fixture(scope="module")
def full() -> TyperGroup:
    group = typer.main.get_command(build_app())
    assert isinstance(group, TyperGroup)
    return group


def test_table_names_every_command(full: TyperGroup) -> None:
    assert set(full.commands) == set(COMMANDS)
    assert set(COMMANDS.values()) == set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_registers_exactly_its_names(module: str) -> None:
    group = typer.main.get_command(build_app([module]))
    assert isinstance(group, TyperGroup)
    assert set(group.commands) == {name for name, owner in COMMANDS.items() if owner == module}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_alone_equals_command_in_full_app(name: str, full: TyperGroup) -> None:
    group = typer.main.get_command(build_app(modules_for([name, "--help"])))
    assert isinstance(group, TyperGroup)
    assert _tree(group.commands[name]) == _tree(full.commands[name])


def test_building_twice_adds_nothing_twice(full: TyperGroup) -> None:
    again = typer.main.get_command(build_app())
    assert isinstance(again, TyperGroup)
    assert _tree(again) == _tree(full)


def test_modules_for_command_lines() -> None:
    assert modules_for(["crisis", "list"]) == ("crisis",)
    assert modules_for(["taxii", "pull", "--help"]) == ("taxii",)
    assert modules_for(["--version"]) == ()
    assert modules_for([]) == MODULES  # no command: the full help
    assert modules_for(["--help"]) == MODULES
    assert modules_for(["no-such-command"]) == MODULES  # the error lists every command


_PROBE = """
import json, sys
sys.argv = ["colsec", *sys.argv[1:]]
from colsec.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith("colsec."))), file=sys.stderr)
"""


def _loaded(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120, check=False
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_a_command_imports_only_its_domain() -> None:
    loaded = _loaded("org", "--help")
    assert "colsec.cli.accounts" in loaded
    others = {f"colsec.cli.{m}" for m in MODULES if m != "accounts"}
    assert not loaded & others
    # nor the web UI or the demo scenarios
    assert not {m for m in loaded if m.startswith(("colsec.web.ui", "colsec.crisis.demo"))}


def test_version_imports_no_domain() -> None:
    loaded = _loaded("--version")
    assert not {m for m in loaded if m.startswith(("colsec.cli.", "colsec.node", "colsec.store"))}
