"""A peer that answers garbage is reported in peer status, and nothing bad is stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.models import PeerCursor
from colsec.federation.sync import sync_peer
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from colsec.store.service import import_objects
from federation.hostile import HostilePeer
from federation.stixgen import indicator
from loopback import LOOPBACK


@pytest.fixture
def peer() -> Iterator[HostilePeer]:
    p = HostilePeer()
    yield p
    p.stop()


def _setup(database: Database, peer: HostilePeer) -> None:
    with database.unit_of_work() as s:
        accounts.create_organisation(s, actor=SYSTEM, name="Hostile node", short_name="EVIL")
        accounts.create_organisation(s, actor=SYSTEM, name="Our agency", short_name="OURS")
        fed.create_peer(
            s, actor=SYSTEM, name="evil", url=peer.url, organisation="EVIL", token="t", local_org="OURS"
        )


def _stored(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(
            s.execute(
                select(func.count()).select_from(StixObject).where(StixObject.origin == "evil")
            ).scalar_one()
        )


def _status(database: Database) -> dict[str, object]:
    with database.unit_of_work(write=False) as s:
        return fed.peer_status(s, fed.get_peer(s, "evil"))


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("invalid_json", "invalid_json"),
        ("wrong_media", "media_type"),
        ("backwards", "cursor_backwards"),
        ("deep", "bad_shape"),
    ],
)
def test_garbage_is_reported_and_not_stored(
    database: Database, peer: HostilePeer, mode: str, kind: str
) -> None:
    _setup(database, peer)
    peer.mode = mode
    report = sync_peer(
        database, "evil", client_options={"backoff": 0.01, "max_retries": 1}, outbound=LOOPBACK
    )
    assert not report.ok and report.error_kind == kind
    st = _status(database)
    assert st["last_error_kind"] == kind and st["error_count"] == 1 and st["last_success_at"] is None
    if mode == "backwards":
        # The first page was good and is kept with its cursor; the backwards page is not stored.
        assert _stored(database) == 15
    else:
        assert _stored(database) == 0
        with database.unit_of_work(write=False) as s:
            assert s.execute(select(func.count()).select_from(PeerCursor)).scalar_one() == 0


def test_oversize_is_refused(database: Database, peer: HostilePeer) -> None:
    _setup(database, peer)
    peer.mode = "oversize"
    report = sync_peer(database, "evil", client_options={"max_bytes": 1_000_000}, outbound=LOOPBACK)
    assert report.error_kind == "too_large" and _stored(database) == 0


def test_hostile_bundle_objects_are_refused_one_by_one(database: Database, peer: HostilePeer) -> None:
    _setup(database, peer)
    peer.mode = "hostile_bundle"
    report = sync_peer(database, "evil", outbound=LOOPBACK)
    assert report.ok and report.received == 4 and report.inserted == 0 and report.rejected == 4
    st = _status(database)
    assert st["last_error_kind"] == "rejected_objects" and st["objects_rejected"] == 4
    assert _stored(database) == 0


def test_peer_cannot_rewrite_objects_created_here(database: Database, peer: HostilePeer) -> None:
    _setup(database, peer)
    ours = indicator(0, tlp=TLP.AMBER, tag="ours")
    with database.unit_of_work() as s:
        org = accounts.get_org_by_name(s, "OURS")
        import_objects(s, actor=SYSTEM, objects=[ours], owner_org_id=org.id)
    forged = {**ours, "modified": "2026-02-01T00:00:00.000Z", "object_marking_refs": [], "name": "forged"}
    peer.objects = [forged, *peer.objects[:5]]
    report = sync_peer(database, "evil", outbound=LOOPBACK)
    assert report.ok and report.inserted == 5 and report.rejected == 1
    assert "a peer may version only objects" in report.rejections[0]["message"]
    with database.unit_of_work(write=False) as s:
        latest = s.execute(
            select(StixObject).where(StixObject.id == ours["id"], StixObject.is_latest)
        ).scalar_one()
        assert latest.modified.startswith("2026-01-01T00:00:00") and latest.origin is None


def test_good_peer_after_garbage_recovers(database: Database, peer: HostilePeer) -> None:
    _setup(database, peer)
    peer.mode = "invalid_json"
    assert not sync_peer(
        database, "evil", client_options={"backoff": 0.01, "max_retries": 0}, outbound=LOOPBACK
    ).ok
    peer.mode = "ok"
    report = sync_peer(database, "evil", outbound=LOOPBACK)
    assert report.ok and report.inserted == 30
    st = _status(database)
    assert (
        st["last_success_at"] is not None and st["objects_received"] == 30 and st["lag_seconds"] is not None
    )
    # Marked GREEN by the peer: stays GREEN; received objects are owned by the peer's organisation.
    with database.unit_of_work(write=False) as s:
        tl = set(s.execute(select(StixObject.tlp).where(StixObject.origin == "evil")).scalars())
        assert tl == {int(TLP.GREEN)}
