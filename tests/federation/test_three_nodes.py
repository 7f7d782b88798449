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

import httpx
import orjson
import pytest
from sqlalchemy import select

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM
from colsec.federation import service as fed
from colsec.federation.service import GROUP_PROPERTY
from colsec.federation.sync import sync_peer
from colsec.stix.tlp import TLP, marking_id
from colsec.store import queries
from colsec.store.models import StixObject
from colsec.store.service import import_objects
from colsec.store.versions import revoke_object
from colsec.taxii.client import TaxiiClient
from colsec.taxii.media import TAXII_MEDIA
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


def _versions(node: Any, oid: str) -> list[StixObject]:
    with node.session() as s:
        rows = list(
            s.execute(select(StixObject).where(StixObject.id == oid).order_by(StixObject.modified)).scalars()
        )
        s.expunge_all()
        return rows


def test_finding_05_restricting_on_a_restricts_history_on_every_node(nodes: Chain) -> None:
    """After a group attach or a stricter version on A, no earlier version reaches a non-member.

    Restricted before the first sync: a non-member never receives the object, so an older
    version can never become the latest one there.  Restricted after it: the copy the
    non-member already held legitimately stays, and nothing newer arrives.
    """
    a = nodes.nodes["A"]
    made = {}
    with a.session() as s:
        owner = _org_ids(s)["ORG-A"]
        fed.create_sharing_group(s, actor=SYSTEM, name="f5-ab", members=["ORG-A", "ORG-B"])
        fed.create_sharing_group(s, actor=SYSTEM, name="f5-ac", members=["ORG-A", "ORG-C"])
        for n, key in enumerate(("ab", "ac", "red", "late")):
            made[key] = indicator(n, tlp=TLP.GREEN if key == "red" else TLP.AMBER, tag="f5")
            import_objects(
                s, actor=SYSTEM, objects=[made[key]], owner_org_id=owner, collection_ids=[ALLIANCE]
            )
        fed.attach_sharing_group(s, actor=SYSTEM, object_id=made["ab"]["id"], group="f5-ab")
        fed.attach_sharing_group(s, actor=SYSTEM, object_id=made["ac"]["id"], group="f5-ac")
        red = {
            **made["red"],
            "modified": "2026-01-02T00:00:00.000Z",
            "object_marking_refs": [marking_id(TLP.RED)],
        }
        import_objects(s, actor=SYSTEM, objects=[red], owner_org_id=owner)  # joins the collection of v1
    _sync(nodes)
    b, c = nodes.nodes["B"], nodes.nodes["C"]
    assert [bool(r.sharing_group_id) for r in _versions(b, made["ab"]["id"])] == [False, True]
    assert _versions(b, made["ab"]["id"])[-1].is_latest
    for key in ("ab", "ac", "red"):
        assert _versions(c, made[key]["id"]) == [], key  # C is in none of these: no version at all
    assert _versions(b, made["ac"]["id"]) == []  # B is outside f5-ac, though C (behind B) is in it
    assert _versions(b, made["red"]["id"]) == []
    late = made["late"]["id"]
    assert len(_versions(c, late)) == 1  # shared before the restriction
    with a.session() as s:
        fed.attach_sharing_group(s, actor=SYSTEM, object_id=late, group="f5-ab")
    _sync(nodes)
    assert [bool(r.sharing_group_id) for r in _versions(b, late)] == [False, True]
    at_c = _versions(c, late)
    assert len(at_c) == 1 and GROUP_PROPERTY not in orjson.loads(at_c[0].body)
    # C's peer account on B asks B for every version of the restricted objects: nothing.
    peer_c = b.add_account("f5-reader-c", org="ORG-C", role="peer")
    for key in ("ab", "late"):
        r = httpx.get(
            f"{b.root_url()}collections/{ALLIANCE}/objects/",
            params={"match[id]": made[key]["id"], "match[version]": "all"},
            auth=peer_c.auth,
            headers={"Accept": TAXII_MEDIA},
        )
        assert r.status_code == 200 and "objects" not in r.json(), key


def test_finding_07_granular_markings_travel_as_the_row_marking(nodes: Chain) -> None:
    """A property marked TLP:RED keeps the object on A, or addressed to its named recipient only."""
    a = nodes.nodes["A"]
    secret = "granular-red-description-f7"
    marks = {
        "description": secret,
        "granular_markings": [{"marking_ref": marking_id(TLP.RED), "selectors": ["description"]}],
    }
    kept = indicator(1, tlp=TLP.GREEN, tag="f7", **marks)
    addressed = indicator(2, tlp=TLP.GREEN, tag="f7", **marks)
    control = indicator(3, tlp=TLP.GREEN, tag="f7")
    with a.session() as s:
        orgs = _org_ids(s)
        import_objects(
            s, actor=SYSTEM, objects=[kept, control], owner_org_id=orgs["ORG-A"], collection_ids=[ALLIANCE]
        )
        import_objects(
            s, actor=SYSTEM, objects=[addressed], owner_org_id=orgs["ORG-A"], collection_ids=[ALLIANCE],
            recipient_org_ids=[orgs["ORG-B"]],
        )  # fmt: skip
    _sync(nodes)
    b, c = nodes.nodes["B"], nodes.nodes["C"]
    assert len(_versions(c, control["id"])) == 1  # GREEN travels two hops: the checks below can fail
    assert _versions(b, kept["id"]) == [] and _versions(c, kept["id"]) == []
    assert _versions(c, addressed["id"]) == []
    (row,) = _versions(b, addressed["id"])
    assert row.tlp == int(TLP.RED)
    with b.session() as s:
        orgs_b = _org_ids(s)
        seen_b = queries.list_objects(
            s, viewer=queries.recipient_for_org(s, orgs_b["ORG-B"]), ids=[addressed["id"]]
        )
        seen_c = queries.list_objects(
            s, viewer=queries.recipient_for_org(s, orgs_b["ORG-C"]), ids=[addressed["id"]]
        )
        assert len(seen_b.rows) == 1 and seen_c.rows == []
