"""The label filter of search: an exact member of ``labels``, the same answer on SQLite and
PostgreSQL (each test runs on both against the same expectations), never an object the reader
may not see; and on PostgreSQL answered by the ``label_index`` GIN index, not a table scan."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from colsec.db import is_sqlite
from colsec.intel.search import SearchQuery, search
from colsec.stix.tlp import TLP

from .conftest import Orgs, indicator


@pytest.fixture
def labelled(db: Session, orgs: Orgs) -> dict[str, str]:
    own: dict[str, dict[str, Any]] = {
        "c2": indicator("lab-c2", "domain", "c2.example.org", labels=["c2", "botnet"]),
        "upper": indicator("lab-upper", "domain", "upper.example.org", labels=["C2"]),
        # "c2" only as a name: not a label
        "named": indicator("lab-named", "domain", "named.example.org", name="c2", labels=["loader"]),
        "underscore": indicator("lab-us", "ipv4", "198.51.100.1", labels=["a_b"]),
        "x": indicator("lab-x", "ipv4", "198.51.100.2", labels=["axb"]),
        "relay": indicator("lab-relay", "ipv4", "198.51.100.3", labels=["c2 relay", "ботнет"]),
        "none": indicator("lab-none", "ipv4", "198.51.100.4", description='"c2" and "labels":'),
    }
    hidden: dict[str, dict[str, Any]] = {
        "red": indicator("lab-red", "ipv4", "198.51.100.5", tlp=TLP.RED, labels=["c2"]),
        "strict": indicator("lab-strict", "ipv4", "198.51.100.6", tlp=TLP.AMBER_STRICT, labels=["ботнет"]),
    }
    orgs.add("AAA", list(own.values()))
    orgs.add("BBB", list(hidden.values()))
    orgs("CCC")
    db.flush()
    return {k: v["id"] for k, v in {**own, **hidden}.items()}


def found(db: Session, orgs: Orgs, short: str, label: str, **kw: Any) -> set[str]:
    page = search(db, actor=orgs.actor(short), query=SearchQuery(label=label, **kw), limit=100)
    return {r.id for r in page.rows}


def test_label_is_an_exact_member_for_every_reader(db: Session, orgs: Orgs, labelled: dict[str, str]) -> None:
    i = labelled
    everyone = {
        "c2": {i["c2"]},
        "C2": {i["upper"]},
        "botnet": {i["c2"]},
        "c2 relay": {i["relay"]},
        "a_b": {i["underscore"]},
        "axb": {i["x"]},
        "ботнет": {i["relay"]},
        " loader ": {i["named"]},  # the label is trimmed
        "c": set(),
        "labels": set(),
        'c2"': set(),
    }
    for label, expected in everyone.items():
        assert found(db, orgs, "CCC", label) == expected, label
        assert found(db, orgs, "AAA", label) == expected, label
    # the owner of RED and AMBER+STRICT rows finds them; nobody else does
    assert found(db, orgs, "BBB", "c2") == {i["c2"], i["red"]}
    assert found(db, orgs, "BBB", "ботнет") == {i["relay"], i["strict"]}
    assert found(db, orgs, "BBB", "c2", tlp=int(TLP.RED)) == {i["red"]}
    assert found(db, orgs, "CCC", "c2", tlp=int(TLP.RED)) == set()
    # with text (the full-text index drives) and as a facet of that search
    assert found(db, orgs, "BBB", "c2", value="c2.example.org") == {i["c2"]}
    page = search(db, actor=orgs.actor("CCC"), query=SearchQuery(label="c2"))
    assert dict(page.facets.labels) == {"c2": 1, "botnet": 1}


def test_postgres_label_filter_uses_the_index(db: Session, orgs: Orgs, labelled: dict[str, str]) -> None:
    if is_sqlite(db):
        pytest.skip("the labels index is PostgreSQL's (SQLite prefilters the text)")
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "'labels'" in statement:
            statements.append((statement, params))

    engine = db.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert found(db, orgs, "AAA", "c2")
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert statements
    db.execute(text("ANALYZE stix_object"))
    db.execute(text("SET LOCAL enable_seqscan = off"))  # the table is tiny: make the choice visible
    raw = db.connection().connection.driver_connection
    for statement, params in statements:
        with raw.cursor() as cur:
            cur.execute("EXPLAIN " + statement, params)
            plan = "\n".join(row[0] for row in cur.fetchall())
        assert "ix_stix_object_labels" in plan, plan
        assert "Seq Scan on stix_object" not in plan, plan
