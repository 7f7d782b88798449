"""The activity counts (``activity_count``, kept by triggers) equal a direct count under the sharing policy.

For several readers (the owner, a sharing group's member, an alliance member outside it, a
named recipient, an external organisation, anonymous, a bulletin audience) after imports, new
versions, marking changes both ways, revocations, co-holders named on a fact, exercise rows,
restored dates, deletions and a sharing group's deletion, on every backend.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session

import colsec.migrations
from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.stix.tlp import TLP, marking_id
from colsec.store.activity import activity_counts
from colsec.store.models import ActivityCount, ObjectRecipient, SharingGroup, SharingGroupMember, StixObject
from colsec.store.policy import Recipient, visible_clause
from colsec.store.service import import_objects
from colsec.store.views import INTEL_TYPES

DAY = "2026-01-01T00:00:00Z"
TYPES = (*INTEL_TYPES, "identity")


def _obj(kind: str, tlp: TLP, modified: str = DAY, **extra: Any) -> dict[str, Any]:
    oid = extra.pop("id", f"{kind}--{uuid.uuid4()}")
    base = {"type": kind, "spec_version": "2.1", "id": oid, "created": DAY, "modified": modified,
            "object_marking_refs": [marking_id(tlp)], **extra}  # fmt: skip
    if kind == "indicator":
        base.update(pattern="[ipv4-addr:value = '192.0.2.1']", pattern_type="stix", valid_from=DAY)
    elif kind == "malware":
        base.update(name="loader", is_family=True)
    elif kind == "identity":
        base.update(name=f"someone {oid[-6:]}", identity_class="organization")
    return base


def _direct(db: Session, reader: Recipient, since: str, until: str | None, ceiling: TLP) -> Counter[Any]:
    """The count the dashboard made before: latest versions under ``visible_clause``, row by row."""
    day = func.substr(StixObject.date_added, 1, 10)
    conds: list[ColumnElement[bool]] = [
        StixObject.date_added >= since, StixObject.is_latest, StixObject.type.in_(TYPES),
        StixObject.tlp <= int(ceiling), visible_clause(reader),
    ]  # fmt: skip
    if until is not None:
        conds.append(StixObject.date_added < until)
    stmt = select(day, StixObject.type, StixObject.owner_org_id, func.count()).where(and_(*conds))
    rows = db.execute(stmt.group_by(day, StixObject.type, StixObject.owner_org_id)).all()
    return Counter({(d, t, o): int(n) for d, t, o, n in rows})


def _table_is_exact(db: Session) -> None:
    """The table holds exactly the grouped count of latest real rows (zero rows aside)."""
    day = func.substr(StixObject.date_added, 1, 10)
    owner, group = func.coalesce(StixObject.owner_org_id, 0), func.coalesce(StixObject.sharing_group_id, 0)
    direct = {
        tuple(k): int(n)
        for *k, n in db.execute(
            select(day, StixObject.type, owner, StixObject.tlp, group, func.count())
            .where(StixObject.is_latest, StixObject.exercise_run_id.is_(None))
            .group_by(day, StixObject.type, owner, StixObject.tlp, group)
        ).all()
    }
    ac = ActivityCount
    kept = {
        (d, t, o, tl, g): int(n)
        for d, t, o, tl, g, n in db.execute(
            select(ac.day, ac.type, ac.owner_org_id, ac.tlp, ac.sharing_group_id, ac.n)
        ).all()
        if n
    }
    assert kept == direct


def _check(db: Session, readers: dict[str, Recipient], stage: str) -> None:
    db.flush()
    _table_is_exact(db)
    windows = [("2000-01-01", None), ("2026-03-01", "2026-03-03"), ("2026-03-02", None)]
    for name, reader in readers.items():
        for since, until in windows:
            for ceiling in (TLP.RED, TLP.AMBER, TLP.GREEN):
                got = activity_counts(db, reader, since, until, types=TYPES, ceiling=ceiling)
                want = _direct(db, reader, since, until, ceiling)
                assert Counter({(d, t, o): n for d, t, o, n in got}) == want, (stage, name, since, ceiling)
    own = readers["owner"]
    mine = activity_counts(db, own, "2000-01-01", types=TYPES)
    assert sum(n for *_, n in mine) > 0, stage  # the comparisons compare something


@pytest.fixture
def orgs(make_account) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    out = {name: make_account(org=name).org for name in ("OWN", "MEM", "OUT", "NAM", "OTH")}
    out["EXT"] = make_account(org="EXT", kind="external").org
    return out


def test_counts_equal_the_policy_through_a_store_history(database: Database, orgs: dict[str, Any]) -> None:
    ids = {k: o.id for k, o in orgs.items()}
    readers = {
        "owner": Recipient(ids["OWN"]), "group member": Recipient(ids["MEM"]),
        "outside the group": Recipient(ids["OUT"]), "named": Recipient(ids["NAM"]),
        "other owner": Recipient(ids["OTH"]), "external": Recipient(ids["EXT"], alliance_member=False),
        "anonymous": Recipient(None, alliance_member=False), "audience": Recipient(0),
    }  # fmt: skip
    with database.unit_of_work() as s:
        group = SharingGroup(name="energy-isac")
        other = SharingGroup(name="finance-isac")
        s.add_all([group, other])
        s.flush()
        s.add_all([SharingGroupMember(group_id=group.id, organisation_id=ids[n]) for n in ("OWN", "MEM")])
        s.add_all([SharingGroupMember(group_id=other.id, organisation_id=ids[n]) for n in ("OWN", "OUT")])
        s.flush()
        kept: dict[str, dict[str, Any]] = {}
        for kind in ("indicator", "malware", "sighting", "identity"):
            for tlp in TLP:
                for g, named in ((None, False), (group.id, False), (other.id, True), (None, True)):
                    for owner in ("OWN", "OTH"):
                        obj = _obj(kind, tlp) if kind != "sighting" else _obj(
                            kind, tlp, sighting_of_ref=f"indicator--{uuid.uuid4()}")  # fmt: skip
                        import_objects(
                            s, actor=SYSTEM, objects=[obj], owner_org_id=ids[owner], sharing_group_id=g,
                            recipient_org_ids=[ids["NAM"]] if named else [],
                        )  # fmt: skip
                        kept[f"{kind}/{tlp.name}/{g}/{named}/{owner}"] = obj
        # Spread over days (a TAXII pull restores the peer's date_added).
        for n, seq in enumerate(s.execute(select(StixObject.seq).order_by(StixObject.seq)).scalars()):
            s.execute(
                update(StixObject).where(StixObject.seq == seq).values(date_added=f"2026-03-0{1 + n % 4}T10:00:00.000000Z")
            )  # fmt: skip
        _check(s, readers, "imports")

        # New versions: narrower (AMBER -> RED), declassified (RED -> GREEN), revoked, group dropped.
        def version(key: str, tlp: TLP, modified: str, *, declassify: bool = False, **extra: Any) -> None:
            old = kept[key]
            new = {**old, **extra, "modified": modified, "object_marking_refs": [marking_id(tlp)]}
            g = key.split("/")[2]
            import_objects(
                s, actor=SYSTEM, objects=[new], owner_org_id=ids[key.split("/")[-1]], declassify=declassify,
                sharing_group_id=None if g == "None" or declassify else int(g),
            )  # fmt: skip
            kept[key] = new

        version("indicator/AMBER/None/False/OWN", TLP.RED, "2026-01-02T00:00:00Z")
        version(f"malware/RED/{group.id}/False/OTH", TLP.GREEN, "2026-01-02T00:00:00Z", declassify=True)
        version(f"indicator/AMBER/{group.id}/False/OWN", TLP.AMBER, "2026-01-02T00:00:00Z", revoked=True)
        version(f"malware/AMBER/{other.id}/True/OWN", TLP.AMBER, "2026-01-03T00:00:00Z", declassify=True)
        version("indicator/GREEN/None/True/OTH", TLP.GREEN, "2026-01-05T00:00:00Z")
        _check(s, readers, "versions")

        # An older version arriving late stays behind the latest; a co-holder named on a RED fact.
        late = {**kept["indicator/GREEN/None/True/OTH"], "modified": "2026-01-04T00:00:00Z"}
        import_objects(s, actor=SYSTEM, objects=[late], owner_org_id=ids["OTH"])
        red = s.execute(
            select(StixObject.seq).where(StixObject.id == kept["identity/RED/None/False/OTH"]["id"])
        ).scalar_one()
        s.add(ObjectRecipient(object_seq=red, organisation_id=ids["OUT"]))
        _check(s, readers, "late version, co-holder")

        # Exercise rows never count; deletions (a latest version, a whole object) move the counts.
        s.execute(
            update(StixObject)
            .where(StixObject.id == kept["sighting/CLEAR/None/False/OWN"]["id"])
            .values(exercise_run_id=7)
        )
        s.execute(delete(StixObject).where(StixObject.id == kept["malware/GREEN/None/False/OTH"]["id"]))
        s.execute(
            delete(StixObject).where(
                StixObject.id == kept["indicator/GREEN/None/True/OTH"]["id"], StixObject.is_latest
            )
        )
        _check(s, readers, "exercise, deletions")

        # A sharing group deleted: its objects' group becomes NULL (the foreign key's rule).
        s.execute(delete(SharingGroup).where(SharingGroup.id == group.id))
        s.expire_all()
        _check(s, readers, "group deleted")


def test_the_migration_backfills_existing_rows(database: Database, orgs: dict[str, Any]) -> None:
    """Rows stored before the table existed are counted by the migration; its downgrade undoes it whole."""
    migration = _migration()
    with database.unit_of_work() as s:
        import_objects(s, actor=SYSTEM, objects=[_obj("indicator", TLP.GREEN)], owner_org_id=orgs["OWN"].id)
    with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.downgrade()
    with database.unit_of_work() as s:  # written with neither the table nor its triggers
        for tlp in TLP:
            import_objects(s, actor=SYSTEM, objects=[_obj("malware", tlp)], owner_org_id=orgs["OWN"].id)
    with database.engine.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        migration.upgrade()
    with database.unit_of_work() as s:
        _table_is_exact(s)
        got = activity_counts(s, Recipient(orgs["MEM"].id), "2000-01-01", types=("indicator", "malware"))
        assert sorted((t, n) for _, t, _, n in got) == [
            ("indicator", 1),
            ("malware", 3),
        ]  # CLEAR, GREEN, AMBER
        import_objects(s, actor=SYSTEM, objects=[_obj("malware", TLP.GREEN)], owner_org_id=orgs["OWN"].id)
        _table_is_exact(s)  # and the triggers count again


def _migration() -> Any:
    path = Path(colsec.migrations.__file__).parent / "versions" / "2026_12_10_activity_counts.py"
    spec = importlib.util.spec_from_file_location("activity_counts", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration
