"""The sharing policy: full matrix for the pure function, and its SQL twin agrees on every case."""

from __future__ import annotations

import importlib.util
import itertools
import uuid
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

import colsec.migrations
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.ids import canonical_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import SharingGroup, SharingGroupMember, StixObject
from colsec.store.policy import (
    Recipient,
    SharedFacts,
    granular_tlp,
    may_share,
    may_share_version,
    restricted_tlp,
    visible_clause,
)
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


# --- policy per version -----------------------------------------------------------------------

# One version: (object-level TLP, granular TLP on the description or None, grouped, named).
_VERSION = st.tuples(
    st.sampled_from(list(TLP)), st.none() | st.sampled_from(list(TLP)), st.booleans(), st.booleans()
)


def test_granular_markings_restrict_the_row() -> None:
    body = {
        "type": "indicator",
        "granular_markings": [
            {"marking_ref": marking_id(TLP.RED), "selectors": ["description"]},
            {
                "marking_ref": "marking-definition--00000000-0000-4000-8000-000000000000",
                "selectors": ["name"],
            },
        ],
    }
    assert granular_tlp(body) == TLP.RED
    assert restricted_tlp(body, TLP.GREEN) == TLP.RED
    assert restricted_tlp(body, None) == TLP.RED
    assert restricted_tlp({"granular_markings": "junk"}, TLP.GREEN) == TLP.GREEN
    assert restricted_tlp({}, None) is None
    low = {"granular_markings": [{"marking_ref": marking_id(TLP.CLEAR), "selectors": ["name"]}]}
    assert restricted_tlp(low, TLP.AMBER) == TLP.AMBER  # a granular marking never widens the object


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories=st.lists(st.lists(_VERSION, min_size=1, max_size=4), min_size=1, max_size=4))
def test_sql_twin_agrees_per_version(
    database: Database,
    policy_orgs: dict[str, int],
    histories: list[list[tuple[TLP, TLP | None, bool, bool]]],
) -> None:
    """Every version of random histories: SQL shows exactly what ``may_share_version`` allows."""
    own, mem, nam = policy_orgs["OWN"], policy_orgs["MEM"], policy_orgs["NAM"]
    facts: dict[tuple[str, str], SharedFacts] = {}
    latest: dict[str, SharedFacts] = {}
    with database.unit_of_work() as s:
        group_id = s.execute(select(SharingGroup.id).where(SharingGroup.name == "policy-group")).scalar_one()
        for history in histories:
            oid = f"indicator--{uuid.uuid4()}"
            for n, (level, granular, grouped, named) in enumerate(history):
                obj: dict[str, object] = {
                    "type": "indicator", "spec_version": "2.1", "id": oid,
                    "created": "2026-01-01T00:00:00.000Z", "modified": f"2026-01-0{n + 1}T00:00:00.000Z",
                    "pattern": "[ipv4-addr:value = '192.0.2.1']", "pattern_type": "stix",
                    "valid_from": "2026-01-01T00:00:00Z", "description": "version text",
                    "object_marking_refs": [marking_id(level)],
                }  # fmt: skip
                if granular is not None:
                    obj["granular_markings"] = [
                        {"marking_ref": marking_id(granular), "selectors": ["description"]}
                    ]
                import_objects(
                    s, actor=SYSTEM, objects=[obj], owner_org_id=own,
                    sharing_group_id=group_id if grouped else None, recipient_org_ids=[nam] if named else [],
                    declassify=True,  # random histories widen too, as their owner may
                )  # fmt: skip
                # Naming no recipients keeps the previous version's (the write gate drops none silently).
                kept = latest[oid].recipients if oid in latest else frozenset()
                version = SharedFacts(
                    owner_org_id=own, tlp=restricted_tlp(obj, level) or level,
                    sharing_group_members=frozenset({own, mem}) if grouped else None,
                    recipients=frozenset({nam}) if named else kept,
                )  # fmt: skip
                facts[(oid, str(obj["modified"]))] = version
                latest[oid] = version  # versions are added in order of ``modified``
    ids = list(latest)
    recipients = [Recipient(org) for org in policy_orgs.values() if org != policy_orgs["EXT"]] + [
        Recipient(policy_orgs["EXT"], alliance_member=False),
        Recipient(None, False),
    ]
    with database.unit_of_work(write=False) as s:
        for r in recipients:
            rows = s.execute(
                select(StixObject.id, StixObject.modified).where(StixObject.id.in_(ids), visible_clause(r))
            ).all()
            expected = {k for k, f in facts.items() if may_share_version(f, latest[k[0]], r)}
            assert {(i, canonical_timestamp(m)) for i, m in rows} == {
                (i, canonical_timestamp(m)) for i, m in expected
            }, r


@pytest.fixture
def policy_orgs(database: Database, make_account) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Owner, group member, alliance outsider, named recipient, external; the group holds OWN and MEM."""
    orgs = {name: make_account(org=name).org.id for name in ("OWN", "MEM", "OUT", "NAM")}
    orgs["EXT"] = make_account(org="EXT", kind="external").org.id
    with database.unit_of_work() as s:
        group = SharingGroup(name="policy-group")
        s.add(group)
        s.flush()
        s.add_all([SharingGroupMember(group_id=group.id, organisation_id=orgs[n]) for n in ("OWN", "MEM")])
    return orgs


def test_finding_07_rows_stored_before_the_fix_take_their_granular_tlp(database: Database) -> None:
    """The data migration raises rows written when granular markings were ignored; it never lowers one."""

    def marked(level: TLP, granular: TLP) -> dict[str, object]:
        return {
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
            "pattern": "[ipv4-addr:value = '192.0.2.7']", "pattern_type": "stix",
            "valid_from": "2026-01-01T00:00:00Z", "description": "marked", "object_marking_refs": [marking_id(level)],
            "granular_markings": [{"marking_ref": marking_id(granular), "selectors": ["description"]}],
        }  # fmt: skip

    raised, kept = marked(TLP.GREEN, TLP.RED), marked(TLP.AMBER, TLP.CLEAR)
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[raised, kept])
        # As the store wrote them before: the object-level TLP only.
        s.execute(update(StixObject).where(StixObject.id == raised["id"]).values(tlp=int(TLP.GREEN)))
    path = Path(colsec.migrations.__file__).parent / "versions" / "2026_12_05_granular_tlp_rows.py"
    spec = importlib.util.spec_from_file_location("granular_tlp_rows", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    with database.unit_of_work(write=False) as s:
        tlps = dict(s.execute(select(StixObject.id, StixObject.tlp)).all())
    assert tlps == {raised["id"]: int(TLP.RED), kept["id"]: int(TLP.AMBER)}
