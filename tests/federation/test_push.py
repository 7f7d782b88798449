"""Urgent push to a real TAXII inbox (medallion) through the outbox: only what the policy lets leave goes.

The import queues the push in its own transaction (the node's post-import step); any worker
delivers it later and checks the policy again at send time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.push import PeerPushSender, push_ids, queue_ids, queue_urgent
from colsec.outbox import Channel
from colsec.outbox.delivery import Claimed, deliver_due
from colsec.outbox.models import OutboxMessage
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import POST_IMPORT, import_objects
from colsec.taxii.client import TaxiiClient
from federation.medallion import PASSWORD, USER, MedallionNode
from federation.stixgen import indicator
from loopback import LOOPBACK


def _on_medallion(node: MedallionNode, ids: list[str]) -> set[str]:
    with TaxiiClient(node.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        return {o["id"] for p in c.iter_pages(node.collection_id) for o in p.objects if o["id"] in ids}


def _deliver(database: Database) -> int:
    """One worker's pass over the due push rows (the clock a minute ahead: retries are due too)."""
    senders = {Channel.PEER_PUSH.value: PeerPushSender(database, LOOPBACK)}
    later = datetime.now(UTC) + timedelta(minutes=1)
    return deliver_due(database, worker_id="w1", senders=senders, now=later)


def _rows(database: Database) -> list[OutboxMessage]:
    with database.unit_of_work(write=False) as s:
        rows = list(s.execute(select(OutboxMessage).where(OutboxMessage.channel == "peer-push")).scalars())
        s.expunge_all()
        return rows


def _setup(s: object, medallion: MedallionNode) -> int:
    ours = accounts.create_organisation(s, actor=SYSTEM, name="Our agency", short_name="OURS")  # type: ignore[arg-type]
    accounts.create_organisation(s, actor=SYSTEM, name="Reference", short_name="REF")  # type: ignore[arg-type]
    fed.create_peer(
        s, actor=SYSTEM, name="ref", url=medallion.root_url, organisation="REF", username=USER,  # type: ignore[arg-type]
        token=PASSWORD, push_collection=medallion.collection_id,
    )  # fmt: skip
    return int(ours.id)


def test_push_urgent_objects(database: Database, medallion: MedallionNode) -> None:
    tag = f"push-{database.url[-10:]}"
    wired = database.wired(**{POST_IMPORT: (queue_urgent,)})
    urgent = {"x_colsec_urgent": True}
    green = indicator(1, tlp=TLP.GREEN, tag=tag, **urgent)
    amber = indicator(2, tlp=TLP.AMBER, tag=tag, **urgent)
    red = indicator(3, tlp=TLP.RED, tag=tag, **urgent)
    grouped = indicator(4, tlp=TLP.AMBER, tag=tag, **urgent)
    routine = indicator(5, tlp=TLP.GREEN, tag=tag)
    lost = indicator(6, tlp=TLP.GREEN, tag=tag, **urgent)
    with wired.unit_of_work() as s:
        ours = _setup(s, medallion)
        group = fed.create_sharing_group(s, actor=SYSTEM, name="energy", members=["OURS", "REF"])
    # A rolled-back import queues nothing.
    with pytest.raises(RuntimeError), wired.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[lost], owner_org_id=ours)
        raise RuntimeError("the unit fails after the write")
    assert _rows(wired) == []
    with wired.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[green, amber, red, routine], owner_org_id=ours)
        import_objects(s, actor=SYSTEM, objects=[grouped], owner_org_id=ours, sharing_group_id=group.id)
    all_ids = [o["id"] for o in (green, amber, red, grouped, routine, lost)]
    # Queued in the import's transaction, one row for the peer; nothing has left yet.
    (row,) = _rows(wired)
    assert row.status == "pending" and len(row.payload["seqs"]) == 2 and row.destination.startswith("peer:")
    assert _on_medallion(medallion, all_ids) == set()
    assert _deliver(wired) == 1
    assert _on_medallion(medallion, all_ids) == {green["id"], amber["id"]}
    assert _deliver(wired) == 0  # delivered once
    # A redelivery after a lost acknowledgement stores nothing twice at the peer.
    claimed = Claimed(row.id, row.channel, row.destination, row.event, row.payload, row.idempotency_key, 1)
    PeerPushSender(wired, LOOPBACK).send(claimed)
    with TaxiiClient(medallion.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        versions = [
            o for p in c.iter_pages(medallion.collection_id) for o in p.objects if o["id"] == green["id"]
        ]
    assert len(versions) == 1
    # The owner's "push now" of a routine object is queued too; RED still refused.
    with wired.unit_of_work() as s:
        assert queue_ids(s, actor=SYSTEM, object_ids=[routine["id"], red["id"]]) == [
            {"peer": "ref", "queued": 1}
        ]
    assert _deliver(wired) == 1
    assert _on_medallion(medallion, all_ids) == {green["id"], amber["id"], routine["id"]}
    # The operator's command pushes at once, same policy.
    results = push_ids(wired, [red["id"], grouped["id"]], outbound=LOOPBACK)
    assert [(r.peer, r.pushed, r.error) for r in results] == [("ref", 0, None)]
    with wired.unit_of_work(write=False) as s:
        assert fed.peer_status(s, fed.get_peer(s, "ref"))["objects_pushed"] == 5  # 2, the 2 redelivered, 1


def test_finding_05_push_sends_no_version_older_than_a_restriction(
    database: Database, medallion: MedallionNode
) -> None:
    """Versions restricted after the push was queued (a stricter marking, a group without the peer) stay home."""
    tag = f"push-f5-{database.url[-10:]}"
    wired = database.wired(**{POST_IMPORT: (queue_urgent,)})
    urgent = {"x_colsec_urgent": True}
    reddened = indicator(1, tlp=TLP.GREEN, tag=tag, **urgent)
    grouped = indicator(2, tlp=TLP.AMBER, tag=tag, **urgent)
    control = indicator(3, tlp=TLP.GREEN, tag=tag, **urgent)
    with wired.unit_of_work() as s:
        ours = _setup(s, medallion)
        fed.create_sharing_group(s, actor=SYSTEM, name="ours-only", members=["OURS"])
        import_objects(s, actor=SYSTEM, objects=[reddened, grouped, control], owner_org_id=ours)
    (row,) = _rows(wired)
    assert len(row.payload["seqs"]) == 3  # all three could leave when queued
    with database.unit_of_work() as s:  # restricted afterwards (no push step: nothing new to queue)
        red = {
            **reddened,
            "modified": "2026-01-02T00:00:00.000Z",
            "object_marking_refs": [marking_id(TLP.RED)],
        }
        import_objects(s, actor=SYSTEM, objects=[red], owner_org_id=ours)
        fed.attach_sharing_group(s, actor=SYSTEM, object_id=grouped["id"], group="ours-only")
    assert _deliver(wired) == 1
    assert _on_medallion(medallion, [reddened["id"], grouped["id"], control["id"]]) == {control["id"]}
