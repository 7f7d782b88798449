"""Runtime dependencies are exactly what src/colsec uses: a test reference listed as a runtime
dependency ships to every node for nothing, and an import missing from the list breaks a clean
install while passing here, where the test extra is installed too."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src" / "colsec"

# Runtime dependencies that no import names, each with the evidence in src that it is used.
USED_WITHOUT_IMPORT = {
    "psycopg": r"sqlalchemy\.dialects import postgresql",  # the postgresql+psycopg dialect
    "python-multipart": r"request\.form\(",  # Starlette's form parser
    "pymisp": r'resources\.files\("pymisp"\)',  # the MISP type table it ships
    "pystemmer": r"snowballstemmer\.stemmer\(",  # snowballstemmer's C backend when installed
}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec)
    assert match, spec
    return _normalise(match.group(0))


def _project() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as fh:
        data: dict[str, object] = tomllib.load(fh)["project"]
    return data


def _runtime() -> set[str]:
    deps = _project()["dependencies"]
    assert isinstance(deps, list)
    return {_requirement_name(d) for d in deps}


def _test_extra() -> set[str]:
    extras = _project()["optional-dependencies"]
    assert isinstance(extras, dict)
    return {_requirement_name(d) for d in extras["test"]}


def _src_imports() -> dict[str, list[str]]:
    """Top-level third-party module names imported anywhere in src/colsec, with where."""
    found: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "colsec" and top not in sys.stdlib_module_names:
                    found.setdefault(top, []).append(str(path.relative_to(REPO)))
    return found


def _src_text() -> str:
    return "\n".join(p.read_text("utf-8") for p in SRC.rglob("*.py"))


def test_every_third_party_import_in_src_is_a_runtime_dependency() -> None:
    dists = packages_distributions()
    runtime = _runtime()
    missing = {}
    for module, where in _src_imports().items():
        owners = {_normalise(d) for d in dists.get(module, [])}
        assert owners, f"{module} (imported by {where[0]}) belongs to no installed distribution"
        if not owners & runtime:
            missing[module] = (sorted(owners), where[:3])
    assert not missing, f"imported by src but not runtime dependencies: {missing}"


def test_every_runtime_dependency_is_used_by_src() -> None:
    dists = packages_distributions()
    imported = {_normalise(d) for module in _src_imports() for d in dists.get(module, [])}
    text = _src_text()
    unused = []
    for dep in sorted(_runtime()):
        if dep in imported:
            continue
        evidence = USED_WITHOUT_IMPORT.get(dep)
        if evidence is None or not re.search(evidence, text):
            unused.append(dep)
    assert not unused, f"runtime dependencies src does not use (move them to the test extra): {unused}"


def test_one_http_client_library_and_no_duplicate_listing() -> None:
    runtime = _runtime()
    assert "httpx" in runtime
    assert "httpx2" not in runtime  # only Starlette's TestClient (tests) runs on it
    assert "httpx2" not in _src_imports()
    assert not runtime & _test_extra(), "a package is listed both as runtime and test dependency"


def test_reference_libraries_are_test_only() -> None:
    """stix2-patterns is the reference the pattern parser is checked against, not a runtime need."""
    assert "stix2-patterns" in _test_extra()
    assert "stix2-patterns" not in _runtime()
