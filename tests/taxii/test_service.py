"""TAXII service functions on every database backend (SQLite; PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select, update

from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.errors import BadRequest, Forbidden, NotFound
from colsec.stix.tlp import TLP
from colsec.store.models import Collection, StixObject
from colsec.store.service import import_objects
from colsec.taxii import service
from colsec.taxii.service import Filters
from taxii.stixdata import indicator, indicators


def _walk(database: Database, actor: Actor, cid: str, limit: int, **filters: Any) -> list[str]:
    seen: list[str] = []
    f = Filters(limit=limit, **filters)
    with database.unit_of_work(write=False) as s:
        coll = s.get(Collection, cid)
        assert coll is not None
        while True:
            page = service.read_page(s, actor=actor, collection=coll, filters=f)
            seen += page.ids
            if not page.more:
                return seen
            assert page.next is not None
            f = Filters.parse(
                [("next", page.next), ("limit", str(limit))], default_limit=limit, max_limit=limit
            )
            f.versions = filters.get("versions", [])


def test_keyset_pages_with_ties_respect_the_sharing_policy(
    database: Database, make_account: Callable[..., Any]
) -> None:
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    red = indicator(99, tag="svc", tlp=TLP.RED)
    with database.unit_of_work() as s:
        cid = service.create_collection(s, actor=SYSTEM, title="svc", can_write=["*"]).id
        import_objects(s, actor=b.actor, objects=[*indicators(30, tag="svc"), red], collection_ids=[cid])
        seqs = list(
            s.execute(
                select(StixObject.seq).where(StixObject.type == "indicator").order_by(StixObject.seq)
            ).scalars()
        )
        s.execute(
            update(StixObject)
            .where(StixObject.seq.in_(seqs[5:20]))
            .values(date_added="2026-05-01T00:00:00.000000Z")
        )
    mine = _walk(database, b.actor, cid, 7)
    theirs = _walk(database, a.actor, cid, 7)
    assert len(mine) == 31 and len(set(mine)) == 31
    assert len(theirs) == 30 and red["id"] not in theirs
    with database.unit_of_work(write=False) as s:
        coll = s.get(Collection, cid)
        assert coll is not None
        page = service.read_page(
            s, actor=a.actor, collection=coll, filters=Filters(limit=100), object_id=red["id"]
        )
        assert page.rows == [] and page.headers == {}


def test_filters_parse() -> None:
    f = Filters.parse(
        [("match[type]", "indicator,malware"), ("match[id]", "x--1"), ("limit", "5000"), ("match[colour]", "red"),
         ("added_after", "2026-01-01T00:00:00Z"), ("match[version]", "first,2026-01-01T00:00:00Z")],
        default_limit=100, max_limit=1000,
    )  # fmt: skip
    assert f.types == ["indicator", "malware"] and f.ids == ["x--1"] and f.limit == 1000
    assert f.added_after == "2026-01-01T00:00:00.000000Z" and f.versions == ["first", "2026-01-01T00:00:00Z"]
    for bad in [
        ("limit", "0"),
        ("limit", "x"),
        ("next", "nope"),
        ("added_after", "soon"),
        ("match[version]", "new"),
    ]:
        with pytest.raises(BadRequest):
            Filters.parse([bad], default_limit=100, max_limit=1000)


def test_rights_by_org_role_and_everyone(database: Database) -> None:
    analyst_a = Actor(username="u", role=Role.ANALYST, org_id=1, org_short_name="ORG-A")
    viewer_a = Actor(username="v", role=Role.VIEWER, org_id=1, org_short_name="ORG-A")
    peer_b = Actor(username="p", role=Role.PEER, org_id=2, org_short_name="ORG-B")
    assert (
        service.may(analyst_a, ["*"]) and service.may(analyst_a, ["ORG-A"]) and service.may(peer_b, ["peer"])
    )
    assert not service.may(peer_b, ["ORG-A", "analyst"]) and not service.may(analyst_a, [])
    with database.unit_of_work() as s:
        cid = service.create_collection(
            s, actor=SYSTEM, title="r", can_read=["ORG-A"], can_write=["ORG-A"]
        ).id
        assert service.get_collection(s, actor=analyst_a, api_root="root", collection_id=cid, need="write")
        with pytest.raises(Forbidden):
            service.get_collection(s, actor=viewer_a, api_root="root", collection_id=cid, need="write")
        with pytest.raises(NotFound):  # no rights at all: answered as a missing collection
            service.get_collection(s, actor=peer_b, api_root="root", collection_id=cid, need="read")
        with pytest.raises(NotFound):
            service.get_collection(s, actor=analyst_a, api_root="other", collection_id=cid)
        assert [c.id for c in service.visible_collections(s, actor=peer_b, api_root="root")] == []


def test_sqlite_pages_walk_the_date_added_index(sqlite_database: Database) -> None:
    """A page reads its rows in the collection's (date_added, seq) order off the index and stops at the limit.

    Without statistics SQLite took the exercise-run test (``IS NULL`` on an indexed column) as
    selective: it read every real row by that index and sorted them all, for every page.  An
    object by id is found by its id index, not by walking the whole collection in order.
    """
    from colsec.store.policy import Recipient
    from colsec.taxii import reads

    viewer = Recipient(org_id=1, alliance_member=True)
    shapes = [
        reads._Shape(0, 0, 0, ("last",), False, after)  # first page, then a page after a cursor
        for after in (False, True)
    ]
    with sqlite_database.unit_of_work(write=False) as s:
        dialect = s.get_bind().dialect
        for shape in shapes:
            query = reads._page_query(dialect, viewer, shape)
            params = {"cid": "c", "lim": 1001, "after_added": "2026-01-01", "after_seq": 1}
            cursor = s.connection().connection.cursor()
            plan = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + query.sql, query.bind(params))]
            assert any(
                "collection_object USING COVERING INDEX ix_collection_object_added" in step for step in plan
            )
            assert any("stix_object USING INTEGER PRIMARY KEY" in step for step in plan), plan
            assert not any("TEMP B-TREE" in step for step in plan), plan
        query = reads._page_query(dialect, viewer, reads.LATEST_BY_ID)
        params = {"cid": "c", "lim": 2, "id_0": "indicator--x"}
        plan = [row[3] for row in cursor.execute("EXPLAIN QUERY PLAN " + query.sql, query.bind(params))]
        assert plan[0].startswith("SEARCH stix_object USING INDEX sqlite_autoindex_stix_object_1 (id=?)"), (
            plan
        )
        assert not any("ix_collection_object_added" in step for step in plan), plan


def test_an_added_after_with_an_offset_is_refused_as_not_utc() -> None:
    from colsec.errors import BadRequest
    from colsec.taxii.reads import Filters

    with pytest.raises(BadRequest, match="must be a UTC timestamp ending in Z"):
        Filters.parse([("added_after", "2026-12-07T20:37:16.459077+02:00")], default_limit=10, max_limit=10)
    with pytest.raises(BadRequest, match="not an RFC 3339 timestamp"):
        Filters.parse([("added_after", "yesterday")], default_limit=10, max_limit=10)
