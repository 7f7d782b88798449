"""SQLite's full-text index is filled by the write gate itself (no per-row trigger, issue 20).

The gate inserts each new version's terms into ``search_fts`` beside ``search_doc``; the
delete trigger still removes superseded versions.  FTS5's own integrity check (rank 1)
compares the index with its content table, search_doc, term by term: it fails if a row was
indexed differently, twice, or not at all.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP
from colsec.store.service import import_objects


def _pattern(i: int, modified: str, words: str) -> dict[str, Any]:
    return {
        "type": "attack-pattern", "spec_version": "2.1", "id": f"attack-pattern--{i:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z", "modified": modified, "name": f"Technique {i}",
        "description": words, "external_references": [{"source_name": "mitre-attack", "external_id": f"T9{i:03d}"}],
    }  # fmt: skip


def _matches(cur: sqlite3.Cursor, query: str) -> set[int]:
    return {r[0] for r in cur.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH ?", (query,))}


def test_gate_indexes_new_versions_and_drops_superseded(sqlite_database: Database) -> None:
    first = [
        _pattern(i, "2026-01-01T00:00:00.000Z", f"Phishing campaigns deliver payload {i}") for i in range(60)
    ]
    later = [
        _pattern(i, "2026-02-01T00:00:00.000Z", "Credentials harvested from browsers")
        for i in range(0, 60, 3)
    ]
    for objects in (first, later, first):  # the repeat is all unchanged: nothing indexed twice
        with sqlite_database.unit_of_work() as s:
            import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.GREEN)
    with sqlite_database.unit_of_work() as s:
        cur = s.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        cur.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)")
        triggers = {r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        docs = cur.execute("SELECT count(*) FROM search_doc").fetchone()[0]
        phishing, harvested, t9003 = (
            _matches(cur, "phish*"),
            _matches(cur, "harvest"),
            _matches(cur, '"t9003"'),
        )
        latest = dict(cur.execute("SELECT seq, id FROM stix_object WHERE is_latest = 1").fetchall())
    assert "search_doc_ai" not in triggers and "search_doc_ad" in triggers
    assert docs == 60 == len(latest)  # latest versions only
    assert len(phishing) == 40 and len(harvested) == 20 and phishing.isdisjoint(harvested)
    assert phishing | harvested == set(latest)
    assert [latest[s] for s in t9003] == [_pattern(3, "", "")["id"]]
