"""Store import: real data, idempotency, versions, and hostile input refused with nothing written."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.db import Database
from colsec.errors import InvalidInput
from colsec.formats.stix_bundle import read_bundle_file, read_stix_file
from colsec.stix.tlp import TLP, marking_id
from colsec.store import queries
from colsec.store.models import Observable, StixObject
from colsec.store.policy import Recipient
from colsec.store.service import import_objects


def _count(database: Database) -> int:
    with database.unit_of_work(write=False) as s:
        return int(s.execute(select(func.count()).select_from(StixObject)).scalar_one())


def _import(database: Database, objects: object, **kw: object) -> object:
    with database.unit_of_work() as s:
        return import_objects(s, actor=SYSTEM, objects=objects, **kw)  # type: ignore[arg-type]


def _indicator(**over: object) -> dict[str, object]:
    obj: dict[str, object] = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid4()}",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '198.51.100.9']",
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    obj.update(over)
    return obj


def test_ics_attack_imports_and_reimport_changes_nothing(database: Database, shared_data: Path) -> None:
    path = shared_data / "attack" / "ics-attack-18.1.json"
    first = _import(database, read_stix_file(path), default_tlp=TLP.CLEAR)
    assert first.received == 1826 and first.inserted == 1826  # type: ignore[attr-defined]
    assert _count(database) == 1826
    again = _import(database, read_stix_file(path), default_tlp=TLP.CLEAR)
    assert again.inserted == 0 and again.unchanged == 1826  # type: ignore[attr-defined]
    assert _count(database) == 1826


def test_oasis_examples_import(database: Database, shared_data: Path) -> None:
    files = sorted((shared_data / "stix" / "oasis_examples" / "examples").rglob("*.json"))
    assert len(files) >= 7
    total = 0
    for f in files:
        total += _import(database, read_stix_file(f)).inserted  # type: ignore[attr-defined]
    assert total > 200
    with database.unit_of_work(write=False) as s:
        types = set(s.execute(select(StixObject.type).distinct()).scalars())
    assert {"indicator", "report", "malware", "relationship", "infrastructure"} <= types
    assert _count(database) == total


def test_newer_version_kept_beside_old(database: Database) -> None:
    v1 = _indicator(object_marking_refs=[marking_id(TLP.CLEAR)])
    v2 = dict(v1, modified="2026-02-01T00:00:00.000Z", name="updated")
    _import(database, [v1])
    _import(database, [v2])
    viewer = Recipient(org_id=None, alliance_member=False)
    with database.unit_of_work(write=False) as s:
        assert queries.get_object(s, viewer=viewer, object_id=str(v1["id"]))["name"] == "updated"
        first = queries.get_object(s, viewer=viewer, object_id=str(v1["id"]), version="first")
        assert "name" not in first
        page = queries.list_objects(s, viewer=viewer, ids=[str(v1["id"])], versions=["all"])
        assert len(page.rows) == 2
        latest = s.execute(
            select(StixObject.modified).where(StixObject.id == v1["id"], StixObject.is_latest)
        ).all()
        assert latest == [("2026-02-01T00:00:00.000000Z",)]


def test_observables_indexed_from_patterns_and_scos(database: Database) -> None:
    ind = _indicator(pattern="[ipv4-addr:value = '198.51.100.77' OR domain-name:value = 'Evil.Example.COM']")
    sco = {
        "type": "file",
        "spec_version": "2.1",
        "id": f"file--{uuid.uuid4()}",
        "hashes": {"SHA-256": "AB" * 32},
    }
    _import(database, [ind, sco])
    with database.unit_of_work(write=False) as s:
        obs = set(s.execute(select(Observable.kind, Observable.value)).all())
    assert ("ipv4", "198.51.100.77") in obs
    assert ("domain", "evil.example.com") in obs
    assert ("sha256", "ab" * 32) in obs


def test_default_tlp_marking_written_into_object(database: Database) -> None:
    ind = _indicator()
    _import(database, [ind], default_tlp=TLP.AMBER)
    with database.unit_of_work(write=False) as s:
        row = s.execute(select(StixObject).where(StixObject.id == ind["id"])).scalar_one()
    assert row.tlp == int(TLP.AMBER)
    assert orjson.loads(row.body)["object_marking_refs"] == [marking_id(TLP.AMBER)]


BAD_CASES = {
    "wrong spec_version": lambda: _indicator(spec_version="2.0"),
    "bad id": lambda: _indicator(id="indicator--not-a-uuid"),
    "id of another type": lambda: _indicator(id=f"malware--{uuid.uuid4()}"),
    "bad timestamp": lambda: _indicator(created="2022-101-27T13:49:54.326Z"),
    "impossible date": lambda: _indicator(modified="2026-02-30T00:00:00Z"),
    "bad pattern": lambda: _indicator(pattern="[ipv4-addr:value = '1.2.3.4'"),
    "missing pattern": lambda: {k: v for k, v in _indicator().items() if k != "pattern"},
    "not an object": lambda: ["indicator"],
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_object_refuses_whole_unit(database: Database, case: str) -> None:
    good = _indicator()
    bad = BAD_CASES[case]()
    before = _count(database)
    with pytest.raises(InvalidInput) as exc:
        _import(database, [good, bad])
    assert "nothing was imported" in exc.value.message
    if isinstance(bad, dict) and "id" in bad:
        assert str(bad["id"]) in exc.value.message
    assert _count(database) == before


def test_duplicate_id_with_conflicting_content_refused(database: Database) -> None:
    a = _indicator()
    b = copy.deepcopy(a)
    b["name"] = "different"
    with pytest.raises(InvalidInput, match="appears twice"):
        _import(database, [a, b])
    assert _count(database) == 0
    _import(database, [a, copy.deepcopy(a)])  # identical duplicates are harmless
    assert _count(database) == 1


def test_real_bad_timestamp_fixture_refused(database: Database, shared_data: Path) -> None:
    path = shared_data / "stix" / "tlp2" / "using-tlp2.0-green.example.json"
    with pytest.raises(InvalidInput, match=r"relationship--.*'created'.*2022-101-27"):
        _import(database, read_stix_file(path))
    assert _count(database) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": "indicator"', "truncated"),
        (b"this is not json", "invalid"),
        (b'{"type": "campaign-list", "objects": []}', "not a STIX bundle"),
        (b"\x00\x01\x02binary\xff\xfe", "invalid"),
    ],
)
def test_broken_files_refused(database: Database, tmp_path: Path, content: bytes, message: str) -> None:
    big = tmp_path / "x.json"
    big.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        _import(database, read_bundle_file(big))
    assert _count(database) == 0


def test_deep_nesting_refused(database: Database, tmp_path: Path) -> None:
    nested = b"[" * 10_000 + b"]" * 10_000
    path = tmp_path / "deep.json"
    path.write_bytes(
        b'{"type": "bundle", "id": "bundle--1", "objects": [{"type": "x-deep", "v": ' + nested + b"}]}"
    )
    with pytest.raises(InvalidInput, match="nested deeper"):
        _import(database, read_bundle_file(path))
    with pytest.raises(InvalidInput):
        _import(database, read_stix_file(path))
    assert _count(database) == 0


def test_other_org_cannot_publish_new_version(db: Session, make_account) -> None:  # type: ignore[no-untyped-def]
    from colsec.errors import Forbidden

    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    ind = _indicator(object_marking_refs=[marking_id(TLP.GREEN)])
    import_objects(db, actor=a.actor, objects=[ind])
    db.commit()
    hijack = dict(ind, modified="2026-03-01T00:00:00.000Z", object_marking_refs=[marking_id(TLP.CLEAR)])
    with pytest.raises(Forbidden):
        import_objects(db, actor=b.actor, objects=[hijack])
