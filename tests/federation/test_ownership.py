"""What a peer sends is owned as the peer may claim, never as this node's organisation (finding 9).

Real TAXII peers on 127.0.0.1 (``HostilePeer``) are pulled by ``sync_peer``; every refusal
is recorded in the sync result.  SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.models import PeerCursor
from colsec.federation.sync import SyncReport, sync_peer
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.service import import_objects
from federation.hostile import HostilePeer
from federation.stixgen import indicator
from loopback import LOOPBACK


@pytest.fixture
def evil() -> Iterator[HostilePeer]:
    p = HostilePeer()
    yield p
    p.stop()


@pytest.fixture
def other() -> Iterator[HostilePeer]:
    p = HostilePeer()
    yield p
    p.stop()


def _setup(database: Database, evil: HostilePeer, other: HostilePeer) -> dict[str, Any]:
    """Our node (OURS), two peers (EVIL, OTHER) and a remote member known here (THIRD)."""
    with database.unit_of_work() as s:
        orgs = {
            short: accounts.create_organisation(s, actor=SYSTEM, name=f"{short} agency", short_name=short)
            for short in ("OURS", "EVIL", "OTHER", "THIRD")
        }
        for name, peer in (("evil", evil), ("other", other)):
            fed.create_peer(
                s,
                actor=SYSTEM,
                name=name,
                url=peer.url,
                organisation=name.upper(),
                token="t",
                local_org="OURS",
            )
        return {k: (o.id, o.identity_id) for k, o in orgs.items()}


def _owners(database: Database, ids: list[str]) -> dict[str, tuple[int | None, str | None, int]]:
    with database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(StixObject.id, StixObject.owner_org_id, StixObject.origin, StixObject.tlp).where(
                StixObject.id.in_(ids), StixObject.is_latest
            )
        ).all()
    return {oid: (owner, origin, tlp) for oid, owner, origin, tlp in rows}


def _sync(database: Database, name: str) -> SyncReport:
    """Pull everything the peer serves (it answers the same page every time: start afresh)."""
    with database.unit_of_work() as s:
        s.execute(delete(PeerCursor))
    return sync_peer(database, name, outbound=LOOPBACK)


def _refused(report: SyncReport) -> dict[str, str]:
    return {r["id"]: r["message"] for r in report.rejections}


def test_finding_09_peer_cannot_publish_as_a_local_organisation(
    database: Database, evil: HostilePeer, other: HostilePeer
) -> None:
    orgs = _setup(database, evil, other)
    as_ours = indicator(1, tag="claim", created_by_ref=orgs["OURS"][1])
    as_third = indicator(2, tag="claim", created_by_ref=orgs["THIRD"][1])
    unsigned = indicator(3, tag="claim")
    evil.objects = [as_ours, as_third, unsigned]
    report = _sync(database, "evil")
    assert report.ok and report.inserted == 2 and report.rejected == 1
    assert "may not publish objects as an organisation of this node" in _refused(report)[as_ours["id"]]
    owners = _owners(database, [o["id"] for o in evil.objects])
    assert as_ours["id"] not in owners
    assert owners[as_third["id"]][:2] == (orgs["THIRD"][0], "evil")  # a remote creator keeps its object
    assert owners[unsigned["id"]][:2] == (orgs["EVIL"][0], "evil")


def test_finding_09_peer_cannot_reversion_another_peers_or_local_objects(
    database: Database, evil: HostilePeer, other: HostilePeer
) -> None:
    orgs = _setup(database, evil, other)
    theirs = indicator(1, tag="other")
    other.objects = [theirs]
    assert _sync(database, "other").inserted == 1
    # A local object imported from a file (origin "stix"), not created through the API.
    local = indicator(2, tag="local", tlp=TLP.RED)
    with database.unit_of_work() as s:
        ours = Actor(username="analyst", role=Role.ANALYST, org_id=orgs["OURS"][0], user_id=1)
        import_objects(s, actor=ours, objects=[local], origin="stix")
    own = indicator(3, tag="evil")
    evil.objects = [own]
    assert _sync(database, "evil").inserted == 1
    newer = "2026-02-01T00:00:00.000Z"
    evil.objects = [
        {**theirs, "modified": newer, "name": "hijacked"},
        {**local, "modified": newer, "name": "hijacked", "object_marking_refs": []},
        {**own, "modified": newer, "name": "updated by its creator"},
    ]
    report = _sync(database, "evil")
    assert report.ok and report.inserted == 1 and report.rejected == 2
    why = _refused(report)
    for oid in (theirs["id"], local["id"]):
        assert "a peer may version only objects its organisation owns or that it sent itself" in why[oid]
    owners = _owners(database, [theirs["id"], local["id"], own["id"]])
    assert owners[theirs["id"]][:2] == (orgs["OTHER"][0], "other")
    assert owners[local["id"]] == (orgs["OURS"][0], "stix", int(TLP.RED))
    with database.unit_of_work(write=False) as s:
        names = dict(s.execute(select(StixObject.id, StixObject.body).where(StixObject.is_latest)).all())
    assert "hijacked" not in names[theirs["id"]] and "hijacked" not in names[local["id"]]
    assert "updated by its creator" in names[own["id"]]


def test_received_objects_never_widen(database: Database, evil: HostilePeer, other: HostilePeer) -> None:
    orgs = _setup(database, evil, other)
    red = indicator(1, tag="widen", tlp=TLP.RED)
    evil.objects = [red]
    assert _sync(database, "evil").inserted == 1
    evil.objects = [{**red, "modified": "2026-02-01T00:00:00.000Z", "object_marking_refs": []} | {
        "object_marking_refs": [indicator(0, tlp=TLP.CLEAR)["object_marking_refs"][0]]
    }]  # fmt: skip
    report = _sync(database, "evil")
    assert (
        report.rejected == 1
        and "would widen its marking (TLP:RED to TLP:CLEAR)" in report.rejections[0]["message"]
    )
    assert _owners(database, [red["id"]])[red["id"]] == (orgs["EVIL"][0], "evil", int(TLP.RED))


def test_finding_15_peer_cannot_pin_a_future_version(
    database: Database, evil: HostilePeer, other: HostilePeer
) -> None:
    _setup(database, evil, other)
    pinned = indicator(1, tag="future", modified="2099-01-01T00:00:00.000Z")
    evil.objects = [pinned]
    report = _sync(database, "evil")
    assert report.ok and report.inserted == 0 and report.rejected == 1
    assert "'modified' 2099-01-01" in report.rejections[0]["message"]
    assert _owners(database, [pinned["id"]]) == {}
