"""PostgreSQL stores large object bodies lz4-compressed (``object_body_lz4`` migration), read back unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.db import is_sqlite
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.service import import_objects


def test_large_bodies_are_lz4_and_read_back_unchanged(db: Session) -> None:
    if is_sqlite(db):
        pytest.skip("SQLite stores bodies as they are")
    if not db.execute(
        text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar():
        pytest.skip("this server has no lz4: the migration keeps pglz")
    description = " ".join(f"step {i} of the intrusion" for i in range(400))  # past TOAST's 2 kB
    obj = {
        "type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--6b1c1a4e-0000-4000-8000-000000000001",
        "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
        "name": "Long description", "description": description,
    }  # fmt: skip
    import_objects(db, actor=SYSTEM, objects=[obj], default_tlp=TLP.CLEAR)
    body, method = db.execute(
        select(StixObject.body, text("pg_column_compression(stix_object.body)")).where(
            StixObject.id == obj["id"]
        )
    ).one()
    assert method == "lz4"
    assert description in body
