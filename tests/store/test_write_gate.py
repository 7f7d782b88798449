"""The one write gate: nothing else inserts object rows; new versions keep what restricts them."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import colsec
from colsec.accounts.roles import SYSTEM
from colsec.errors import ColsecError
from colsec.federation import service as fed
from colsec.settings import Settings
from colsec.stix.tlp import TLP, marking_id
from colsec.store.limits import WriteLimits
from colsec.store.models import ObjectRecipient, StixObject
from colsec.store.service import import_objects
from colsec.store.versions import revoke_object

SRC = Path(colsec.__file__).resolve().parent
GATE = SRC / "store" / "service.py"
WRITER = SRC / "store" / "inserts.py"  # the gate's row writer: only the gate calls it
# An insert naming the object table or model, an ORM constructor, raw SQL or COPY into the table.
INSERTS = [
    re.compile(r"copy\s+\"?stix_object\b", re.IGNORECASE),
    re.compile(r"copy_rows\([^)]*\bStixObject\b"),
    re.compile(r"insert\w*\([^)]*\bStixObject\b", re.IGNORECASE),
    re.compile(r"(?<!class )\bStixObject\("),
    re.compile(r"bulk_\w+\(\s*StixObject\b"),
    re.compile(r"insert\s+into\s+\"?stix_object\b", re.IGNORECASE),
]


def _inserters(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path in (GATE, WRITER) or "migrations" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in INSERTS:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(root)}:{line}: {m.group(0)}")
    return found


def test_only_the_gate_inserts_object_rows(tmp_path: Path) -> None:
    assert _inserters(SRC) == []
    writer = WRITER.read_text(encoding="utf-8")
    assert (
        "insert_stmt(db, StixObject.__table__)" in writer and "copy_rows(db, StixObject.__table__" in writer
    )

    def importers(module: str) -> list[str]:
        return sorted(
            str(p.relative_to(SRC))
            for p in SRC.rglob("*.py")
            if f"{module} import" in p.read_text(encoding="utf-8")
        )

    # the writer runs only after the gate's rules: from the batch step, which only the gate calls
    assert importers("colsec.store.inserts") == ["store/batches.py"]
    assert importers("colsec.store.batches") == ["store/service.py"]
    # The scan would see an inserter elsewhere.
    rogue = tmp_path / "rogue.py"
    rogue.write_text(
        "db.execute(insert(StixObject).values(row))\ndb.add(StixObject(id=oid))\n"
        "copy_rows(db, StixObject.__table__, cols, rows)\ncur.copy('COPY stix_object (seq) FROM STDIN')\n"
    )
    assert len(_inserters(tmp_path)) == 4


def test_write_limits_come_from_settings() -> None:
    assert WriteLimits() == WriteLimits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    custom = Settings(
        max_object_bytes=2048, max_string_length=300, max_objects_per_unit=7, max_clock_skew_seconds=1
    )
    assert WriteLimits.from_settings(custom) == WriteLimits(2048, 300, 7, 1)


def _amber(n: int) -> dict[str, Any]:
    return {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-00000000000{n}",
        "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z", "name": "r",
        "pattern": "[ipv4-addr:value = '198.51.100.9']", "pattern_type": "stix",
        "valid_from": "2026-10-01T00:00:00Z", "object_marking_refs": [marking_id(TLP.AMBER)],
    }  # fmt: skip


def test_new_versions_keep_sharing_group_and_recipients(
    db: Session, make_account: Callable[..., Any]
) -> None:
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    make_account(org="ORG-C")
    obj = _amber(1)
    import_objects(db, actor=a.actor, objects=[obj], recipient_org_ids=[b.org.id])
    fed.create_sharing_group(db, actor=SYSTEM, name="ab", members=["ORG-A", "ORG-B"])
    fed.attach_sharing_group(db, actor=a.actor, object_id=obj["id"], group="ab")
    revoke_object(db, actor=a.actor, object_id=obj["id"])
    latest = db.execute(
        select(StixObject).where(StixObject.id == obj["id"], StixObject.is_latest)
    ).scalar_one()
    assert latest.revoked and latest.sharing_group_id is not None
    named = db.execute(
        select(ObjectRecipient.organisation_id).where(ObjectRecipient.object_seq == latest.seq)
    )
    assert set(named.scalars()) == {b.org.id}


def test_recipients_named_by_the_caller_are_the_audience(
    db: Session, make_account: Callable[..., Any]
) -> None:
    """An audience that shrinks (a crisis incident's readers) is a narrowing, never widened by inheritance."""
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    c = make_account(org="ORG-C")
    v1 = {**_amber(2), "object_marking_refs": [marking_id(TLP.RED)]}
    import_objects(db, actor=a.actor, objects=[v1], recipient_org_ids=[b.org.id, c.org.id])
    v2 = {**v1, "modified": "2026-10-02T00:00:00.000Z"}
    import_objects(db, actor=a.actor, objects=[v2], recipient_org_ids=[c.org.id])
    latest = db.execute(
        select(StixObject.seq).where(StixObject.id == v1["id"], StixObject.is_latest)
    ).scalar_one()
    named = db.execute(select(ObjectRecipient.organisation_id).where(ObjectRecipient.object_seq == latest))
    assert set(named.scalars()) == {c.org.id}


def _grouping(refs: list[str], description: str = "event") -> dict[str, Any]:
    return {
        "type": "grouping", "spec_version": "2.1", "id": "grouping--00000000-0000-4000-8000-0000000000aa",
        "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z", "context": "suspicious-activity",
        "description": description, "object_refs": refs, "object_marking_refs": [marking_id(TLP.GREEN)],
    }  # fmt: skip


def test_a_large_events_grouping_is_bounded_by_the_unit_not_the_byte_cap(db: Session) -> None:
    """A MISP event's grouping lists every object: the ids count against the unit cap, the rest against bytes."""
    refs = [f"indicator--00000000-0000-4000-8000-{i:012d}" for i in range(2_000)]  # ~100 kB of ids
    limits = WriteLimits(max_object_bytes=4096, max_string_length=300, max_objects_per_unit=5_000,
                         max_clock_skew_seconds=60)  # fmt: skip
    report = import_objects(db, actor=SYSTEM, objects=[_grouping(refs)], limits=limits)
    assert report.inserted == 1 and not report.errors

    with pytest.raises(ColsecError, match="besides its object_refs"):
        import_objects(db, actor=SYSTEM, objects=[_grouping(refs[:5], "x" * 299 + " " + "y" * 299 * 15)],
                       limits=limits)  # fmt: skip
    few = WriteLimits(max_object_bytes=4096, max_string_length=300, max_objects_per_unit=1_000,
                      max_clock_skew_seconds=60)  # fmt: skip
    with pytest.raises(ColsecError, match="2000 object_refs, over the limit of 1000"):
        import_objects(db, actor=SYSTEM, objects=[_grouping(refs)], limits=few)
