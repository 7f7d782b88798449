"""Urgent push to a real TAXII inbox (medallion): only what the policy lets leave by plain TAXII goes."""

from __future__ import annotations

from colsec.accounts import service as accounts
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.federation import service as fed
from colsec.federation.push import push_ids, push_new_urgent
from colsec.stix.tlp import TLP, marking_id
from colsec.store.service import import_objects
from colsec.taxii.client import TaxiiClient
from federation.medallion import PASSWORD, USER, MedallionNode
from federation.stixgen import indicator
from loopback import LOOPBACK


def _on_medallion(node: MedallionNode, ids: list[str]) -> set[str]:
    with TaxiiClient(node.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as c:
        return {o["id"] for p in c.iter_pages(node.collection_id) for o in p.objects if o["id"] in ids}


def test_push_urgent_objects(database: Database, medallion: MedallionNode) -> None:
    tag = f"push-{database.url[-10:]}"
    with database.unit_of_work() as s:
        ours = accounts.create_organisation(s, actor=SYSTEM, name="Our agency", short_name="OURS")
        accounts.create_organisation(s, actor=SYSTEM, name="Reference", short_name="REF")
        fed.create_peer(
            s, actor=SYSTEM, name="ref", url=medallion.root_url, organisation="REF", username=USER, token=PASSWORD,
            push_collection=medallion.collection_id,
        )  # fmt: skip
        group = fed.create_sharing_group(s, actor=SYSTEM, name="energy", members=["OURS", "REF"])
        urgent = {"x_colsec_urgent": True}
        green = indicator(1, tlp=TLP.GREEN, tag=tag, **urgent)
        amber = indicator(2, tlp=TLP.AMBER, tag=tag, **urgent)
        red = indicator(3, tlp=TLP.RED, tag=tag, **urgent)
        grouped = indicator(4, tlp=TLP.AMBER, tag=tag, **urgent)
        routine = indicator(5, tlp=TLP.GREEN, tag=tag)
        import_objects(s, actor=SYSTEM, objects=[green, amber, red, routine], owner_org_id=ours.id)
        import_objects(s, actor=SYSTEM, objects=[grouped], owner_org_id=ours.id, sharing_group_id=group.id)
    all_ids = [o["id"] for o in (green, amber, red, grouped, routine)]
    high, results = push_new_urgent(database, 0, outbound=LOOPBACK)
    assert high > 0 and [r.peer for r in results] == ["ref"] and results[0].error is None
    assert results[0].pushed == 2
    assert _on_medallion(medallion, all_ids) == {green["id"], amber["id"]}
    # Nothing new: nothing pushed again.
    again_high, again = push_new_urgent(database, high, outbound=LOOPBACK)
    assert again_high == high and again == []
    # An operator's push of a routine object; RED still refused.
    results = push_ids(database, [routine["id"], red["id"]], outbound=LOOPBACK)
    assert results[0].pushed == 1
    assert _on_medallion(medallion, all_ids) == {green["id"], amber["id"], routine["id"]}
    with database.unit_of_work(write=False) as s:
        assert fed.peer_status(s, fed.get_peer(s, "ref"))["objects_pushed"] == 3


def test_finding_05_push_sends_no_version_older_than_a_restriction(
    database: Database, medallion: MedallionNode
) -> None:
    """Versions restricted before the push ran (a stricter marking, a group without the peer) stay home."""
    tag = f"push-f5-{database.url[-10:]}"
    with database.unit_of_work() as s:
        ours = accounts.create_organisation(s, actor=SYSTEM, name="Our agency", short_name="OURS")
        accounts.create_organisation(s, actor=SYSTEM, name="Reference", short_name="REF")
        fed.create_peer(
            s, actor=SYSTEM, name="ref", url=medallion.root_url, organisation="REF", username=USER, token=PASSWORD,
            push_collection=medallion.collection_id,
        )  # fmt: skip
        fed.create_sharing_group(s, actor=SYSTEM, name="ours-only", members=["OURS"])
        urgent = {"x_colsec_urgent": True}
        reddened = indicator(1, tlp=TLP.GREEN, tag=tag, **urgent)
        grouped = indicator(2, tlp=TLP.AMBER, tag=tag, **urgent)
        control = indicator(3, tlp=TLP.GREEN, tag=tag, **urgent)
        import_objects(s, actor=SYSTEM, objects=[reddened, grouped, control], owner_org_id=ours.id)
        red = {
            **reddened,
            "modified": "2026-01-02T00:00:00.000Z",
            "object_marking_refs": [marking_id(TLP.RED)],
        }
        import_objects(s, actor=SYSTEM, objects=[red], owner_org_id=ours.id)
        fed.attach_sharing_group(s, actor=SYSTEM, object_id=grouped["id"], group="ours-only")
    _, results = push_new_urgent(database, 0, outbound=LOOPBACK)
    assert results[0].error is None and results[0].pushed == 1
    assert _on_medallion(medallion, [reddened["id"], grouped["id"], control["id"]]) == {control["id"]}
