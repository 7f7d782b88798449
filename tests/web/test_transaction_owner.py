"""One transaction owner per HTTP request: the session dependency in ``colsec.web.deps``.

Routes take the request's session and never open, commit or end a transaction of their
own; a scan of the web and TAXII packages holds every file to that.
"""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "colsec"
OWNER = "web/deps.py"
TRANSACTION = re.compile(r"unit_of_work\(|\.commit\(\)|\.session\(write")

# Not routes, with a transaction of their own by design.
OWN_ENTRY_POINTS = {
    "taxii/legacy.py": "ASGI middleware before routing: refreshes its legacy-root cache in a read unit",
    # The body streams in under the API root's size cap before anything is parsed; the pending
    # status (and a large envelope's job) is committed before the answer, then read back.
    "web/api/taxii.py": "add_objects streams a capped upload, then commits the status and its job",
    "taxii/writes.py": "add_objects stores an envelope with one savepoint per object (a job, or the route)",
}


def _offenders() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in ("web", "taxii"):
        for path in sorted((SRC / package).rglob("*.py")):
            rel = path.relative_to(SRC).as_posix()
            if rel == OWNER or rel in OWN_ENTRY_POINTS:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            hits = [f"{i}: {line.strip()}" for i, line in enumerate(lines, 1) if TRANSACTION.search(line)]
            if hits:
                found[rel] = hits
    return found


def test_routes_never_own_a_transaction() -> None:
    assert _offenders() == {}


def test_the_allow_list_names_real_files_and_the_pattern_matches() -> None:
    for rel in [OWNER, *OWN_ENTRY_POINTS]:
        assert (SRC / rel).is_file(), rel
    owner = (SRC / OWNER).read_text(encoding="utf-8")
    assert TRANSACTION.search(owner)  # the dependency's own commit is what the scan looks for
    assert not TRANSACTION.search("db.flush()")
