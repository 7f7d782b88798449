"""Three real nodes A → B → C: what A shares reaches C through B exactly when the policy allows.

The matrix: every TLP level × sharing group (none, {B,C}, {B}, {C}) × explicit
recipients (for AMBER+STRICT and RED: none, {B}, {B,C}) × hop (B, C).  The
expectation is written independently of the implementation; any object seen
where it should not be is a leak and fails the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM
from colsec.federation import service as fed
from colsec.federation.service import GROUP_PROPERTY
from colsec.federation.sync import sync_peer
from colsec.stix.tlp import TLP
from colsec.store import queries
from colsec.store.models import StixObject
from colsec.store.service import import_objects
from colsec.store.versions import revoke_object
from colsec.taxii.client import TaxiiClient
from federation.nodes import ALLIANCE, Chain, chain
from federation.stixgen import indicator
from loopback import LOOPBACK

GROUPS: dict[str, tuple[str, ...] | None] = {
    "none": None,
    "BC": ("ORG-B", "ORG-C"),
    "B": ("ORG-B",),
    "C": ("ORG-C",),
}
RECIPIENTS: dict[str, tuple[str, ...]] = {"none": (), "B": ("ORG-B",), "BC": ("ORG-B", "ORG-C")}


def cases() -> list[tuple[TLP, str, str]]:
    out = []
    for level, group in itertools.product(TLP, GROUPS):
        recips = RECIPIENTS if level >= TLP.AMBER_STRICT else {"none": ()}
        out.extend((level, group, r) for r in recips)
    return out


def allowed(org: str, level: TLP, group: tuple[str, ...] | None, recipients: tuple[str, ...]) -> bool:
    """The sharing rule as the design states it, for one hop from the object's holder."""
    if level in (TLP.CLEAR, TLP.GREEN):
        return True
    if level == TLP.AMBER:
        return group is None or org in group
    return org in recipients


def expected(level: TLP, group_key: str, recip_key: str) -> tuple[bool, bool]:
    group, recips = GROUPS[group_key], RECIPIENTS[recip_key]
    at_b = allowed("ORG-B", level, group, recips)
    # B holds what it received addressed to itself only: explicit recipients never travel further.
    at_c = at_b and allowed("ORG-C", level, group, ())
    return at_b, at_c


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    c = chain(tmp_path_factory.mktemp("chain"))
    yield c
    c.stop()


def _org_ids(s: Any) -> dict[str, int]:
    return dict(s.execute(select(Organisation.short_name, Organisation.id)).all())


def _seed(nodes: Chain, tag: str) -> dict[str, tuple[TLP, str, str]]:
    """Create one indicator per matrix case on A, in the alliance collection; returns id → case."""
    a = nodes.nodes["A"]
    made: dict[str, tuple[TLP, str, str]] = {}
    with a.session() as s:
        orgs = _org_ids(s)
        identities = dict(s.execute(select(Organisation.short_name, Organisation.identity_id)).all())
        groups = {}
        for key, members in GROUPS.items():
            if members is not None:
                name = f"{tag}-{key}"
                groups[key] = fed.create_sharing_group(s, actor=SYSTEM, name=name, members=members)
        analyst = SYSTEM
        for n, (level, gkey, rkey) in enumerate(cases()):
            extra: dict[str, Any] = {"created_by_ref": identities["ORG-A"]}
            # The store embeds the group in the body (GROUP_PROPERTY), so it travels with the object.
            gid = groups[gkey].id if gkey != "none" else None
            obj = indicator(n, tlp=level, tag=f"{tag}-matrix", **extra)
            import_objects(
                s,
                actor=analyst,
                objects=[obj],
                owner_org_id=orgs["ORG-A"],
                collection_ids=[ALLIANCE],
                sharing_group_id=gid,
                recipient_org_ids=[orgs[r] for r in RECIPIENTS[rkey]],
            )
            made[obj["id"]] = (level, gkey, rkey)
    return made


def _sync(nodes: Chain) -> None:
    for down, up in (("B", "A"), ("C", "B")):
        report = sync_peer(nodes.nodes[down].database, f"node-{up}", page_size=7, outbound=LOOPBACK)
        assert report.ok, report.error


def _ids(node: Any) -> set[str]:
    with node.session() as s:
        return set(s.execute(select(StixObject.id)).scalars())


def test_policy_matrix_over_two_hops(nodes: Chain) -> None:
    made = _seed(nodes, "m1")
    _sync(nodes)
    at_b, at_c = _ids(nodes.nodes["B"]), _ids(nodes.nodes["C"])
    leaks, losses = [], []
    for oid, case in made.items():
        exp_b, exp_c = expected(*case)
        for hop, exp, got in (("B", exp_b, oid in at_b), ("C", exp_c, oid in at_c)):
            if got and not exp:
                leaks.append((hop, case))
            if exp and not got:
                losses.append((hop, case))
    assert leaks == [], f"leaked: {leaks}"
    assert losses == [], f"lost: {losses}"
    # Every case exercised both outcomes somewhere: the matrix can fail.
    outcomes = {expected(*c) for c in made.values()}
    assert {(True, True), (True, False), (False, False)} <= outcomes


def test_received_objects_keep_creator_markings_group_and_origin(nodes: Chain) -> None:
    made = _seed(nodes, "m2")
    _sync(nodes)
    c = nodes.nodes["C"]
    with c.session() as s:
        orgs = _org_ids(s)
        rows = list(s.execute(select(StixObject).where(StixObject.id.in_(list(made)))).scalars())
        assert rows
        for row in rows:
            level, gkey, _ = made[row.id]
            assert row.owner_org_id == orgs["ORG-A"]  # creator kept across two hops
            assert row.tlp == int(level)
            assert row.origin == "node-B"
            body = orjson.loads(row.body)
            if gkey != "none":
                assert body[GROUP_PROPERTY]["name"] == f"m2-{gkey}"
                members = set(s.execute(select(Organisation.short_name).join(
                    fed.SharingGroupMember, fed.SharingGroupMember.organisation_id == Organisation.id
                ).where(fed.SharingGroupMember.group_id == row.sharing_group_id)).scalars())  # fmt: skip
                assert members == set(GROUPS[gkey] or ())
            else:
                assert row.sharing_group_id is None
        # Local visibility on C follows the same policy: the external organisation sees only TLP:CLEAR.
        outsider = queries.recipient_for_org(s, orgs["ORG-X"])
        page = queries.list_objects(s, viewer=outsider, ids=list(made), limit=1000)
        assert {int(r.tlp) for r in page.rows} <= {int(TLP.CLEAR)}
    with nodes.nodes["B"].session() as s:
        orgs = _org_ids(s)
        red = [oid for oid, (lv, _, r) in made.items() if lv >= TLP.AMBER_STRICT and r != "none"]
        assert red
        for oid in red:
            viewer_b = queries.recipient_for_org(s, orgs["ORG-B"])
            assert queries.list_objects(
                s, viewer=viewer_b, ids=[oid]
            ).rows  # addressed to B: B's users see it
            viewer_c = queries.recipient_for_org(s, orgs["ORG-C"])
            assert not queries.list_objects(s, viewer=viewer_c, ids=[oid]).rows


def test_revocation_propagates_and_resync_is_idempotent(nodes: Chain) -> None:
    a, c = nodes.nodes["A"], nodes.nodes["C"]
    obj = indicator(1, tlp=TLP.GREEN, tag="revoke")
    with a.session() as s:
        orgs = _org_ids(s)
        import_objects(s, actor=SYSTEM, objects=[obj], owner_org_id=orgs["ORG-A"], collection_ids=[ALLIANCE])
    _sync(nodes)
    with a.session() as s:
        actor = SYSTEM.__class__(username="a", role=SYSTEM.role, org_id=orgs["ORG-A"])
        revoke_object(s, actor=actor, object_id=obj["id"])  # joins the collection of its earlier version
    _sync(nodes)
    with c.session() as s:
        latest = s.execute(
            select(StixObject).where(StixObject.id == obj["id"], StixObject.is_latest)
        ).scalar_one()
        assert latest.revoked
        n = s.execute(select(StixObject.seq).where(StixObject.id == obj["id"])).all()
        assert len(n) == 2
    before = _ids(c)
    _sync(nodes)
    assert _ids(c) == before


def test_same_answers_from_our_server_and_medallion(nodes: Chain, tmp_path: Path) -> None:
    """The client reads a collection of our node exactly like the reference server's."""
    from federation.medallion import PASSWORD, USER, start_medallion

    objs = [indicator(i, tlp=TLP.CLEAR, tag="both") for i in range(120)]
    med = start_medallion(tmp_path / "med", max_page_size=50)
    try:
        with TaxiiClient(med.root_url, outbound=LOOPBACK, username=USER, password=PASSWORD) as cl:
            cl.wait_status(cl.add_objects(med.collection_id, objs))
            from_medallion = [o for p in cl.iter_pages(med.collection_id, limit=25) for o in p.objects]
    finally:
        med.stop()
    a = nodes.nodes["A"]
    peer = a.add_account("reader-both", org="ORG-C")
    with TaxiiClient(a.discovery_url, outbound=LOOPBACK, username=peer.username, token=peer.token) as cl:
        coll = a.add_collection("both")
        cl.wait_status(cl.add_objects(coll, objs))
        from_ours = [o for p in cl.iter_pages(coll, limit=25) for o in p.objects]
    assert (
        sorted(o["id"] for o in from_ours)
        == sorted(o["id"] for o in from_medallion)
        == sorted(o["id"] for o in objs)
    )
    assert {o["id"]: o["pattern"] for o in from_ours} == {o["id"]: o["pattern"] for o in from_medallion}
