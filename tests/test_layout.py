"""The package's shape: one name per concern across layers, every module placed in the guide,
and no empty package standing in for code that does not exist yet."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "colsec"
GUIDE = REPO / "docs" / "where-things-live.md"
NOT_DOMAINS = {"web", "cli", "migrations"}
INTERFACES = ("web/api", "web/ui", "cli")


def _domains() -> set[str]:
    return {p.parent.name for p in SRC.glob("*/__init__.py")} - NOT_DOMAINS


def _interface_modules(folder: str) -> set[str]:
    base = SRC / folder
    names = {p.stem for p in base.glob("*.py") if p.stem != "__init__"}
    return names | {p.parent.name for p in base.glob("*/__init__.py")}


def _has_code(package: Path) -> bool:
    """Anything but a docstring, in any module of the package."""
    for path in package.rglob("*.py"):
        body = ast.parse(path.read_text("utf-8")).body
        if any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in body):
            return True
    return False


def test_every_interface_module_is_placed_in_the_guide() -> None:
    """A page module named after nothing (``crisis_pages``, ``federation_panel``) shows up here:
    it is either named after its domain or listed in the guide with the reason it is not."""
    guide = GUIDE.read_text("utf-8")
    domains = _domains()
    unplaced = []
    for folder in INTERFACES:
        for name in sorted(_interface_modules(folder)):
            if name in domains and f"`{folder}/{name}" in guide:
                continue
            if f"`{folder}/{name}.py`" not in guide and f"`{folder}/{name}/`" not in guide:
                unplaced.append(f"{folder}/{name}")
    assert not unplaced, f"interface modules missing from {GUIDE.relative_to(REPO)}: {unplaced}"


def test_domains_with_an_interface_have_their_test_folder() -> None:
    domains = _domains()
    exposed = {n for folder in INTERFACES for n in _interface_modules(folder)} & domains
    assert {"crisis", "federation", "intel"} <= exposed
    missing = sorted(d for d in exposed if not (REPO / "tests" / d).is_dir())
    assert not missing, f"domains without tests/<domain>/: {missing}"


def test_no_empty_package() -> None:
    empty = sorted(p.parent.name for p in SRC.glob("*/__init__.py") if not _has_code(p.parent))
    assert not empty, f"packages without code (remove them until they have some): {empty}"


def test_the_guide_names_only_modules_that_exist() -> None:
    """The mapping table stays true when a module is renamed or removed."""
    guide = GUIDE.read_text("utf-8")
    stale = []
    for chunk in guide.split("`")[1::2]:
        if chunk.startswith(("web/", "cli/", "tests/")) or chunk.endswith((".py", "/")) and "/" in chunk:
            path = REPO / chunk if chunk.startswith("tests/") else SRC / chunk
            if not path.exists():
                stale.append(chunk)
    assert not stale, f"{GUIDE.relative_to(REPO)} names modules that do not exist: {stale}"
