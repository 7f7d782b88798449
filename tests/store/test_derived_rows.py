"""The index rows of a version (search_doc, object_link, observable) always name a stored version.

They carry no foreign key (``derived_rows_no_fk`` migration): the write gate writes them only
after their version in its transaction, and a delete trigger on ``stix_object`` removes them
with it.  Held here through imports of several batches (the write-behind path on both engines),
new versions, deletions of single versions and of an exercise run's objects, and the
migration's downgrade and upgrade over stored rows.
"""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.orm import Session

import colsec.migrations
from colsec.accounts.roles import SYSTEM
from colsec.db import Database, is_sqlite
from colsec.stix.tlp import TLP
from colsec.store.models import ObjectLink, Observable, SearchDoc, StixObject
from colsec.store.service import BATCH_SIZE, import_objects

DAY = "2026-01-01T00:00:00.000Z"
_TABLES = ((SearchDoc, SearchDoc.seq), (ObjectLink, ObjectLink.seq), (Observable, Observable.object_seq))


def _objects(n: int, modified: str = DAY) -> list[dict[str, Any]]:
    """Indicators (observables, words) and relationships and sightings between them (links)."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        ind = {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(uuid.NAMESPACE_URL, str(i))}",
            "created": DAY, "modified": modified, "name": f"beacon host {i}", "pattern_type": "stix",
            "pattern": f"[ipv4-addr:value = '198.51.100.{i % 250}']", "valid_from": DAY,
        }  # fmt: skip
        out.append(ind)
        if i:
            kind = "relationship" if i % 2 else "sighting"
            rel: dict[str, Any] = {
                "type": kind, "spec_version": "2.1", "id": f"{kind}--{uuid.uuid5(uuid.NAMESPACE_DNS, str(i))}",
                "created": DAY, "modified": modified,
            }  # fmt: skip
            if kind == "relationship":
                rel.update(relationship_type="related-to", source_ref=ind["id"], target_ref=out[-2]["id"])
            else:
                rel.update(sighting_of_ref=ind["id"])
            out.append(rel)
    return out


def _orphans(db: Session) -> dict[str, int]:
    stored = select(StixObject.seq)
    return {
        model.__tablename__: int(db.execute(select(func.count()).where(col.not_in(stored))).scalar_one())
        for model, col in _TABLES
    }


def _counts(db: Session) -> dict[str, int]:
    return {
        m.__tablename__: int(db.execute(select(func.count()).select_from(m)).scalar_one()) for m, _ in _TABLES
    }


def _fts_consistent(db: Session) -> None:
    """SQLite: the FTS5 index holds exactly search_doc's rows (its deletions go by trigger)."""
    if is_sqlite(db):
        db.execute(text("INSERT INTO search_fts(search_fts, rank) VALUES ('integrity-check', 1)"))


def test_deleted_versions_take_their_index_rows(database: Database) -> None:
    objects = _objects(BATCH_SIZE)  # two batches and more: the write-behind path
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR)
        import_objects(
            s, actor=SYSTEM, objects=_objects(50, "2026-02-01T00:00:00.000Z"), default_tlp=TLP.CLEAR
        )
    with database.unit_of_work() as s:
        before = _counts(s)
        assert all(before.values()), before
        assert _orphans(s) == {"search_doc": 0, "object_link": 0, "observable": 0}
        # One version of an object with two, then every relationship (as an exercise run's deletion goes).
        s.execute(
            delete(StixObject).where(StixObject.id == objects[0]["id"], StixObject.is_latest.is_(False))
        )
        s.execute(delete(StixObject).where(StixObject.type == "relationship"))
        assert _orphans(s) == {"search_doc": 0, "object_link": 0, "observable": 0}
        after = _counts(s)
        assert 0 < after["object_link"] < before["object_link"]  # the sightings' links stay
        assert after["observable"] == before["observable"] - 1
        _fts_consistent(s)
        s.execute(delete(StixObject))
        assert _counts(s) == {"search_doc": 0, "object_link": 0, "observable": 0}
        _fts_consistent(s)


def test_the_migration_keeps_stored_rows_both_ways(database: Database) -> None:
    migration = _migration()
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=_objects(20), default_tlp=TLP.CLEAR)
        stored = _counts(s)
    with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.downgrade()
    assert _foreign_keys(database) == {"search_doc": 1, "object_link": 1, "observable": 1}
    with database.unit_of_work() as s:
        assert _counts(s) == stored
        _fts_consistent(s)
    with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    assert _foreign_keys(database) == {"search_doc": 0, "object_link": 0, "observable": 0}
    with database.unit_of_work() as s:
        assert _counts(s) == stored
        _fts_consistent(s)
        s.execute(delete(StixObject).where(StixObject.type == "sighting"))
        assert _orphans(s) == {"search_doc": 0, "object_link": 0, "observable": 0}
        _fts_consistent(s)


def _foreign_keys(database: Database) -> dict[str, int]:
    with database.engine.connect() as conn:
        found = inspect(conn)
        return {m.__tablename__: len(found.get_foreign_keys(m.__tablename__)) for m, _ in _TABLES}


def _migration() -> Any:
    path = Path(colsec.migrations.__file__).parent / "versions" / "2026_12_13_derived_rows_no_fk.py"
    spec = importlib.util.spec_from_file_location("derived_rows_no_fk", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration
