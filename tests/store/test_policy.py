"""The sharing policy: full matrix for the pure function, and its SQL twin agrees on every case."""

from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import select

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import SharingGroup, SharingGroupMember, StixObject
from colsec.store.policy import Recipient, SharedFacts, may_share, visible_clause
from colsec.store.service import import_objects

OWNER, MEMBER, OUTSIDER, NAMED = 1, 2, 3, 4

EXPECTED = {
    # tlp: (owner, group member, alliance non-member of group, named recipient, external org)
    (TLP.CLEAR, False): (True, True, True, True, True),
    (TLP.CLEAR, True): (True, True, True, True, True),
    (TLP.GREEN, False): (True, True, True, True, False),
    (TLP.GREEN, True): (True, True, True, True, False),
    (TLP.AMBER, False): (True, True, True, True, False),
    (TLP.AMBER, True): (True, True, False, True, False),
    (TLP.AMBER_STRICT, False): (True, False, False, True, False),
    (TLP.AMBER_STRICT, True): (True, False, False, True, False),
    (TLP.RED, False): (True, False, False, True, False),
    (TLP.RED, True): (True, False, False, True, False),
}


@pytest.mark.parametrize(("tlp", "grouped"), sorted(EXPECTED, key=lambda k: (k[0], k[1])))
def test_policy_matrix(tlp: TLP, grouped: bool) -> None:
    facts = SharedFacts(
        owner_org_id=OWNER,
        tlp=tlp,
        sharing_group_members=frozenset({OWNER, MEMBER}) if grouped else None,
        recipients=frozenset({NAMED}),
    )
    got = (
        may_share(facts, Recipient(OWNER)),
        may_share(facts, Recipient(MEMBER)),
        may_share(facts, Recipient(OUTSIDER)),
        may_share(facts, Recipient(NAMED)),
        may_share(facts, Recipient(99, alliance_member=False)),
    )
    assert got == EXPECTED[(tlp, grouped)]


def test_sql_twin_agrees_with_pure_function(database: Database, make_account) -> None:  # type: ignore[no-untyped-def]
    orgs = {name: make_account(org=name).org for name in ("OWN", "MEM", "OUT", "NAM")}
    ext = make_account(org="EXT", kind="external").org
    with database.unit_of_work() as s:
        group = SharingGroup(name="energy-isac")
        s.add(group)
        s.flush()
        s.add_all([SharingGroupMember(group_id=group.id, organisation_id=orgs[n].id) for n in ("OWN", "MEM")])
        cases = {}
        for tlp, grouped, named in itertools.product(TLP, (False, True), (False, True)):
            obj = {
                "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
                "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z",
                "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix",
                "valid_from": "2026-01-01T00:00:00Z", "object_marking_refs": [marking_id(tlp)],
            }  # fmt: skip
            import_objects(
                s, actor=SYSTEM, objects=[obj], owner_org_id=orgs["OWN"].id,
                sharing_group_id=group.id if grouped else None,
                recipient_org_ids=[orgs["NAM"].id] if named else [],
            )  # fmt: skip
            cases[obj["id"]] = SharedFacts(
                owner_org_id=orgs["OWN"].id, tlp=tlp,
                sharing_group_members=frozenset({orgs["OWN"].id, orgs["MEM"].id}) if grouped else None,
                recipients=frozenset({orgs["NAM"].id}) if named else frozenset(),
            )  # fmt: skip
    recipients = [Recipient(o.id) for o in orgs.values()] + [
        Recipient(ext.id, alliance_member=False),
        Recipient(None, False),
    ]
    with database.unit_of_work(write=False) as s:
        for r in recipients:
            sql_visible = set(
                s.execute(
                    select(StixObject.id).where(StixObject.type == "indicator", visible_clause(r))
                ).scalars()
            )
            pure_visible = {oid for oid, facts in cases.items() if may_share(facts, r)}
            assert sql_visible == pure_visible, r
