"""PostgreSQL's stored ``search_doc.tsv`` equals ``to_tsvector('simple', terms)`` for every row.

The writer (``colsec.store.textindex``) sends the tsvector in its binary form
(``colsec.store.tsvector``) to spare the server its word parser and the tsvector's text parser; searches (``colsec.intel.search``) read the column, so their answers hold only if it is
exactly what the parser would have made: positions, repeats past the 255 kept positions, and
terms in other alphabets (which the server's parser makes itself) included.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.db import is_sqlite
from colsec.fulltext import document_terms
from colsec.stix.tlp import TLP
from colsec.store.rows import copy_raw, driver_cursor
from colsec.store.service import import_objects
from colsec.store.textindex import _SEARCH_TYPES, pg_search_rows

_TEXTS = [
    "",
    "Spearphishing Attachment T1566.001 delivers 0x1f payloads 1e5 007 times",
    "Фишинговые письма с вложениями ботнет C2 серверов 2024",
    "mixed Cyrillic и Latin, ёлка, with digits 42abc and abc42",
    " ".join(["repeat"] * 300 + ["other"] * 10 + ["repeat"] * 5),  # past the 255 positions kept
    "Straße café naïve ²x 中文 Ελληνικά ¼ ٣ ⅷ",  # other alphabets: the server's parser decides
    " ".join(f"word{i % 97}" for i in range(9000)),  # near the longest document
    "sha1 1958e722afd0dba266576922abc98aa505cf5f9a 6e167da3 8e5d 1e5 12e",  # numbers the parser reads in words
]


def _object(i: int, description: str) -> dict[str, Any]:
    return {
        "type": "attack-pattern", "spec_version": "2.1", "id": f"attack-pattern--{i:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": f"Technique {i}", "description": description,
    }  # fmt: skip


def _skip_sqlite(db: Session) -> None:
    if is_sqlite(db):
        pytest.skip("SQLite's full-text index is FTS5 over the terms (test_fts_index)")


def test_binary_tsvector_is_the_parsers_tsvector(db: Session) -> None:
    _skip_sqlite(db)
    versions = [(i, {"description": d}) for i, d in enumerate(_TEXTS)]
    exotic: list[tuple[int, str]] = []
    rows = list(pg_search_rows(versions, exotic))
    for (
        _,
        terms,
    ) in exotic:  # left to the server: terms outside the plain alphabets, or with "1e5", "1958e722a"
        plain = set(terms) <= set("abcdefghijklmnopqrstuvwxyz0123456789абвгдежзийклмнопрстуфхцчшщъыьэюя ")
        assert not plain or re.search(r"(^| )[0-9]+e[0-9]", terms)
    assert len(rows) + len(exotic) == len(_TEXTS) and len(rows) >= len(_TEXTS) - 4
    db.execute(text("CREATE TEMP TABLE made (seq bigint, terms text, tsv tsvector) ON COMMIT DROP"))
    copy_raw(driver_cursor(db), "made", ("seq", "terms", "tsv"), rows, _SEARCH_TYPES)
    made = db.execute(
        text(
            "SELECT terms, tsv::text, to_tsvector('simple', terms)::text, tsv = to_tsvector('simple', terms) FROM made"
        )
    ).all()
    assert len(made) == len(rows)
    for terms, stored, parsed, equal in made:
        assert stored == parsed and equal, terms[:80]


def _same(db: Session) -> None:
    rows = db.execute(
        text("SELECT count(*), count(*) FILTER (WHERE tsv <> to_tsvector('simple', terms)) FROM search_doc")
    )
    total, different = rows.one()
    assert total > 0
    assert different == 0


def test_imported_rows_store_the_parsers_tsvector(db: Session) -> None:
    _skip_sqlite(db)
    import_objects(
        db, actor=SYSTEM, objects=[_object(i, d) for i, d in enumerate(_TEXTS)], default_tlp=TLP.CLEAR
    )
    _same(db)
    assert db.execute(text("SELECT count(*) FROM search_doc")).scalar() == len(_TEXTS)


def test_attack_rows_store_the_parsers_tsvector(db: Session, shared_data: Path) -> None:
    _skip_sqlite(db)
    path = shared_data / "attack" / "enterprise-attack-18.1.stix21.json.gz"
    if not path.exists():
        pytest.skip("ATT&CK Enterprise is absent from the shared data")
    with gzip.open(path, "rb") as f:
        objects = [o for o in json.load(f)["objects"] if o["type"] != "relationship"]
    import_objects(db, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
    _same(db)


def test_terms_made_on_the_writer_thread_are_each_versions_own(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over many batches, with texts the server parses itself among them, each stored row holds
    the terms of its own version's body (the import's writer thread stems them as they stream
    to the server on PostgreSQL) and every version has its row; on SQLite the same holds."""
    import threading

    import orjson

    from colsec.store import inserts, service

    monkeypatch.setattr(service, "BATCH_SIZE", 7)
    threads: set[str] = set()
    for name in ("_copy_index_raw", "_write_index"):
        job = getattr(inserts, name)

        def recorded(*args: Any, _job: Any = job) -> Any:
            threads.add(threading.current_thread().name)
            return _job(*args)

        monkeypatch.setattr(inserts, name, recorded)
    objects = [_object(i, f"{_TEXTS[i % len(_TEXTS)][:400]} distinct{i} ёлка{i}") for i in range(60)]
    import_objects(db, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
    rows = db.execute(
        text("SELECT o.id, o.body, d.terms FROM stix_object o JOIN search_doc d ON d.seq = o.seq")
    ).all()
    assert any(name.startswith("colsec-write") for name in threads)
    assert sorted(oid for oid, _, _ in rows) == sorted(o["id"] for o in objects)
    for oid, body, terms in rows:
        assert terms == document_terms(orjson.loads(body)), oid
    if not is_sqlite(db):
        _same(db)
