"""PostgreSQL: the binary COPY of object and link rows stores exactly what the text COPY stores.

Binary COPY (``colsec.store.rows.copy_raw`` with types) hands the server each value in its
column's own binary form, so a type named wrong (``int4`` for the smallint ``tlp``) or a value
the text form escapes (a tab, a backslash, the ``\\N`` of a NULL) must come out the same.  The
import takes that path for ``stix_object`` and ``object_link``: a spy holds it to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP
from colsec.store import inserts, rows, textindex
from colsec.store.inserts import OBJECT_COLUMNS
from colsec.store.service import import_objects

_ODD = ["plain", "tab\there", "line\nbreak", "back\\slash", "\\N", "", "ёлка 🦊 中文", "x" * 5000]


def _objects() -> list[tuple[Any, ...]]:
    out = []
    for i, odd in enumerate(_ODD):
        body = f"description {odd}"  # raw: the text form must escape what the binary form carries as is
        out.append((
            1000 + i, f"indicator--{i:08d}-0000-4000-8000-000000000000", "indicator", "2.1",
            None if i % 2 else "2026-01-01T00:00:00.000Z", f"2026-01-0{i % 9 + 1}T00:00:00.000Z",
            None if i % 3 else f"identity--{i:08d}-0000-4000-8000-000000000000", None if i % 2 else 7,
            i % 5, None if i % 4 else 3, bool(i % 2), not i % 3, f"2026-02-01T00:00:00.{i:06d}Z",
            None if i % 2 else odd[:200], body,
        ))  # fmt: skip
    return out


@pytest.fixture
def pg(pg_schema_url: str | None) -> Iterator[Database]:
    if pg_schema_url is None:
        pytest.skip("COLSEC_TEST_DATABASE_URL not set: PostgreSQL only")
    database = Database(pg_schema_url)
    try:
        yield database
    finally:
        database.dispose()


def _same_both_ways(
    s: Session, table: str, columns: tuple[str, ...], values: list[tuple[Any, ...]], types: Any
) -> None:
    cur = rows.driver_cursor(s)
    for name in ("as_text", "as_binary"):
        s.execute(text(f"CREATE TEMPORARY TABLE {name} (LIKE {table})"))
    rows.copy_raw(cur, "as_text", columns, values)
    rows.copy_raw(cur, "as_binary", columns, values, types)
    cols = ", ".join(columns)
    as_text = s.execute(text(f"SELECT {cols} FROM as_text ORDER BY {cols}")).all()
    as_binary = s.execute(text(f"SELECT {cols} FROM as_binary ORDER BY {cols}")).all()
    assert len(as_text) == len(values)
    assert as_binary == as_text
    assert {tuple(r) for r in as_binary} == set(values)
    s.execute(text("DROP TABLE as_text, as_binary"))


def test_binary_copy_stores_what_text_copy_stores(pg: Database) -> None:
    with pg.unit_of_work() as s:
        _same_both_ways(s, "stix_object", ("seq", *OBJECT_COLUMNS), _objects(), inserts._PG_TYPES)
        links = [(f"attack-pattern--{i:08d}-0000-4000-8000-000000000000", i) for i in range(20)]
        _same_both_ways(s, "object_link", ("ref_id", "seq"), links, textindex._LINK_TYPES)


def test_an_import_copies_object_and_link_rows_in_binary(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied: dict[str, Any] = {}
    real = rows.copy_raw

    def spy(cur: Any, table: str, columns: Any, values: Any, types: Any = None) -> None:
        copied.setdefault(table, types)
        real(cur, table, columns, values, types)

    for module in (rows, inserts, textindex):
        monkeypatch.setattr(module, "copy_raw", spy)
    a, b = (
        "attack-pattern--00000000-0000-4000-8000-000000000001",
        "malware--00000000-0000-4000-8000-000000000002",
    )
    stamp = "2026-01-01T00:00:00.000Z"
    objects = [
        {"type": "attack-pattern", "spec_version": "2.1", "id": a, "created": stamp, "modified": stamp, "name": "x"},
        {"type": "malware", "spec_version": "2.1", "id": b, "created": stamp, "modified": stamp, "name": "y",
         "is_family": True},
        {"type": "relationship", "spec_version": "2.1", "id": "relationship--00000000-0000-4000-8000-000000000003",
         "created": stamp, "modified": stamp, "relationship_type": "uses", "source_ref": b, "target_ref": a},
    ]  # fmt: skip
    with pg.unit_of_work() as s:
        assert import_objects(s, actor=SYSTEM, objects=objects, default_tlp=TLP.CLEAR).inserted == 3
    assert copied["stix_object"] == inserts._PG_TYPES
    assert copied["object_link"] == textindex._LINK_TYPES
