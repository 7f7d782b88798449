"""Pull sync from the OASIS reference server: full collection, resumable, idempotent, incremental."""

from __future__ import annotations

from sqlalchemy import func, select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.models import PeerCursor
from colsec.federation.sync import sync_peer
from colsec.store.models import StixObject
from colsec.store.peers import Peer
from colsec.taxii.client import TaxiiClient
from federation.medallion import PASSWORD, USER, MedallionNode
from federation.stixgen import indicators
from loopback import LOOPBACK


def _load(node: MedallionNode, objs: list[dict[str, object]]) -> None:
    with TaxiiClient(node.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        for i in range(0, len(objs), 100):
            c.wait_status(c.add_objects(node.collection_id, objs[i : i + 100]))


def _peer(database: Database, node: MedallionNode) -> None:
    with database.unit_of_work() as s:
        accounts.create_organisation(s, actor=SYSTEM, name="Reference peer", short_name="REF")
        fed.create_peer(
            s,
            actor=SYSTEM,
            name="ref",
            url=node.discovery_url,
            organisation="REF",
            username=USER,
            token=PASSWORD,
        )


def test_pull_from_medallion(database: Database, medallion: MedallionNode) -> None:
    objs = indicators(230, tag=f"sync-{database.url[-12:]}")
    _load(medallion, objs)
    _peer(database, medallion)
    report = sync_peer(database, "ref", page_size=50, outbound=LOOPBACK)
    assert report.ok, report.error
    assert report.pages >= 5
    with database.unit_of_work(write=False) as s:
        ids = set(s.execute(select(StixObject.id).where(StixObject.origin == "ref")).scalars())
        assert {o["id"] for o in objs} <= ids
        n_before = s.execute(select(func.count()).select_from(StixObject)).scalar()
        cur = s.execute(select(PeerCursor)).scalar_one()
        assert cur.added_after is not None
        peer = s.execute(select(Peer)).scalar_one()
        assert peer.last_success_at is not None and peer.objects_received >= 230
        owner = s.execute(select(StixObject.owner_org_id).where(StixObject.id == objs[0]["id"])).scalar()
        assert owner == peer.organisation_id
    # Again: nothing new, nothing duplicated.
    again = sync_peer(database, "ref", page_size=50, outbound=LOOPBACK)
    assert again.ok and again.inserted == 0 and again.received == 0
    # Incremental: only the new objects come.
    more = indicators(7, tag=f"sync-more-{database.url[-12:]}")
    _load(medallion, more)
    third = sync_peer(database, "ref", page_size=50, outbound=LOOPBACK)
    assert third.ok and third.inserted == 7 and third.received == 7
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(StixObject)).scalar() == n_before + 7


def test_forgotten_cursor_redelivers_harmlessly(database: Database, medallion: MedallionNode) -> None:
    _load(medallion, indicators(40, tag="redeliver"))
    _peer(database, medallion)
    assert sync_peer(database, "ref", outbound=LOOPBACK).ok
    with database.unit_of_work() as s:
        n = s.execute(select(func.count()).select_from(StixObject)).scalar()
        s.execute(PeerCursor.__table__.delete())
    report = sync_peer(database, "ref", outbound=LOOPBACK)
    assert report.ok and report.received > 0 and report.inserted == 0
    with database.unit_of_work(write=False) as s:
        assert s.execute(select(func.count()).select_from(StixObject)).scalar() == n
