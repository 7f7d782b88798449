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
}
# TODO(merge): these are being rewritten onto the request session and the job runner; the
# allow-list goes when they land.
BEING_REWRITTEN = {
    "web/api/imports.py",
    "web/ui/imports.py",
    "taxii/routes.py",
    "web/api/crisis/__init__.py",
    "taxii/service.py",  # add_objects/fail_status: large envelopes become durable jobs
}


def _offenders() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in ("web", "taxii"):
        for path in sorted((SRC / package).rglob("*.py")):
            rel = path.relative_to(SRC).as_posix()
            if rel == OWNER or rel in OWN_ENTRY_POINTS or rel in BEING_REWRITTEN:
                continue
            lines = path.read_text(encoding="utf-8").splitlines()
            hits = [f"{i}: {line.strip()}" for i, line in enumerate(lines, 1) if TRANSACTION.search(line)]
            if hits:
                found[rel] = hits
    return found


def test_routes_never_own_a_transaction() -> None:
    assert _offenders() == {}


def test_the_allow_list_names_real_files_and_the_pattern_matches() -> None:
    for rel in [OWNER, *OWN_ENTRY_POINTS, *BEING_REWRITTEN]:
        assert (SRC / rel).is_file(), rel
    owner = (SRC / OWNER).read_text(encoding="utf-8")
    assert TRANSACTION.search(owner)  # the dependency's own commit is what the scan looks for
    assert not TRANSACTION.search("db.flush()")
