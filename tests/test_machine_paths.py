"""No file of the repository names a path on one machine: tests find shared data relative to
the repository and write under tmp_path, so the suite runs from any checkout on any host."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("src", "tests", "bench", "docs", ".ci")
TOP_FILES = ("README.md", "Makefile", "pyproject.toml")
SUFFIXES = {
    ".py",
    ".md",
    ".toml",
    ".txt",
    ".cfg",
    ".ini",
    ".sh",
    ".yml",
    ".yaml",
    ".html",
    ".po",
    ".mako",
    "",
}
# An absolute path into a home, the build host's work tree or a fixed temporary folder; the
# look-behind leaves URL paths such as ``/taxii2/root/`` alone.
MACHINE_PATH = re.compile(r"(?<![\w.:/~-])/(?:work|home|root|Users|tmp)/")


def _files() -> list[Path]:
    found = [REPO / name for name in TOP_FILES if (REPO / name).is_file()]
    for folder in SCANNED:
        base = REPO / folder
        if base.is_dir():
            found += [
                p
                for p in base.rglob("*")
                if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts
            ]
    return sorted(found)


def test_the_pattern_catches_machine_paths_and_spares_urls() -> None:
    # Split so that this file does not itself hold a machine path.
    assert MACHINE_PATH.search('DATA = "/' + 'work/shared/data"')
    assert MACHINE_PATH.search("open('/" + "home/analyst/eve.json')")
    assert MACHINE_PATH.search("see /" + "tmp/colsec.db")
    assert not MACHINE_PATH.search('"/taxii2/root/collections/"')
    assert not MACHINE_PATH.search("REPO.parent / 'shared' / 'data'")


def test_no_file_names_a_machine_path() -> None:
    files = _files()
    assert any(p.name == "conftest.py" for p in files)
    offenders = [
        f"{path.relative_to(REPO)}:{n}: {line.strip()[:120]}"
        for path in files
        for n, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert not offenders, "machine paths (use paths relative to the repository or tmp_path):\n" + "\n".join(
        offenders
    )
