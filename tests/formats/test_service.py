"""Registry, format detection, import into the store (all-or-nothing) and exports through visibility."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.errors import InvalidInput
from colsec.formats.misp_urls import conform_url_attributes
from colsec.formats.registry import EXPORTERS, IMPORTERS, ExportFormat, ImportFormat
from colsec.formats.service import ExportFilter, detect_format, export_selection, import_source
from colsec.stix.tlp import TLP
from colsec.store.models import StixObject
from stixvalidate import install as fast_stix2_validator


def _count(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(StixObject)).scalar() or 0)


def test_registry_is_complete() -> None:
    assert set(IMPORTERS) == set(ImportFormat)
    assert set(EXPORTERS) == set(ExportFormat)


def test_registry_refuses_duplicates() -> None:
    from colsec.formats import registry

    with pytest.raises(RuntimeError, match="twice"):
        registry._add_importer(IMPORTERS[ImportFormat.CSV])


def test_detect_format(shared_data: Path) -> None:
    misp = (shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json").read_bytes()
    assert detect_format(misp) == ImportFormat.MISP
    assert detect_format((shared_data / "attack/ics-attack-18.1.json").read_bytes()) == ImportFormat.ATTACK
    assert detect_format(b'{"type": "bundle", "id": "bundle--x", "objects": []}') == ImportFormat.STIX
    # A lone STIX object (the OASIS interop example) or a list of them, as the STIX reader takes.
    lone = (shared_data / "stix/oasis_examples/examples/interop-objectmarking-test.json").read_bytes()
    assert detect_format(lone) == ImportFormat.STIX
    assert (
        detect_format(
            b'[{"type": "indicator", "id": "indicator--' + b"0" * 8 + b"-0000-4000-8000-" + b"0" * 12 + b'"}]'
        )
        == ImportFormat.STIX
    )
    with pytest.raises(InvalidInput):
        detect_format(b'{"name": "x", "id": "not-a-stix-id"}')
    assert detect_format(b"type,value\nip-dst,198.51.100.1\n") == ImportFormat.CSV
    assert detect_format(b"Seen hxxp://evil[.]example[.]com today") == ImportFormat.TEXT
    for junk in (b"\x89PNG\r\n\x1a\n\x00\x00", bytes(range(256)) * 4, b"   "):
        with pytest.raises(InvalidInput):
            detect_format(junk)
    assert detect_format(b"<alice@example.org> reported 198.51.100.1") == ImportFormat.TEXT


def test_xml_is_refused_with_the_way_in_for_cap(shared_data: Path) -> None:
    """A CAP alert or feed (the hostile one and one in ISO-8859-1 too) is no IOC list: read as free
    text, its namespace and schema URLs became indicators and sensor rules."""
    files = sorted((shared_data / "cap").rglob("*.xml"))
    assert len(files) >= 12
    for path in files:
        with pytest.raises(InvalidInput, match="input is XML.*cap-import"):
            detect_format(path.read_bytes())
    for doc in (b"<html><body>1.2.3.4</body></html>", b'\xef\xbb\xbf<feed xmlns="x"><id/></feed>'):
        with pytest.raises(InvalidInput, match="input is XML"):
            detect_format(doc)


def test_misp_fixtures_import(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    acc = make_account()
    for path in sorted((shared_data / "misp/events").glob("pymisp_*.json")):
        if path.name == "pymisp_sharing_groups.json":
            continue
        report = import_source(db, actor=acc.actor, data=path.read_bytes())
        assert report.fmt == ImportFormat.MISP and report.received > 0, path.name
        again = import_source(db, actor=acc.actor, data=path.read_bytes())
        assert again.inserted == 0 and again.unchanged == again.received  # idempotent
    assert _count(db) > 1500


def test_misp_distribution_becomes_tlp(
    db: Session, make_account: Callable[..., Any], shared_data: Path
) -> None:
    acc = make_account()
    wrapper = json.loads((shared_data / "misp/events/pymisp_misp_event.json").read_text())
    event = wrapper.get("Event", wrapper)
    event["distribution"] = "0"
    event["Tag"] = [t for t in event.get("Tag", []) if not t["name"].lower().startswith("tlp:")]
    import_source(db, actor=acc.actor, data=orjson.dumps(wrapper))
    tlps = {
        row for row in db.execute(select(StixObject.tlp).where(StixObject.type == "observed-data")).scalars()
    }
    assert tlps == {int(TLP.RED)}


HOSTILE = [
    (b'{"Event": {"uuid": "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d1e", "Attribute": [', "not valid JSON"),
    (b'{"Event": {"uuid": "6b4f1c55-0d3c-4a4c-9d6b-1c0f8a4c1d1e", "x": ' + b"[" * 10000 + b"]" * 10000 + b"}}", "nested"),
    (b"name,age\nbob,3\n", "unknown CSV layout"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00" + bytes(range(256)), "binary"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), HOSTILE)
def test_hostile_input_refused_nothing_written(
    db: Session, make_account: Callable[..., Any], data: bytes, message: str
) -> None:
    acc = make_account()
    before = _count(db)
    with pytest.raises(InvalidInput, match=message):
        import_source(db, actor=acc.actor, data=data)
    db.rollback()
    assert _count(db) == before


def test_csv_and_text_import(db: Session, make_account: Callable[..., Any]) -> None:
    acc = make_account()
    r1 = import_source(
        db, actor=acc.actor, data=b"type,value,comment\nip-dst,198.51.100.1,c2\ndomain,evil.example.com,\n"
    )
    assert r1.fmt == ImportFormat.CSV and r1.inserted == 2
    r2 = import_source(
        db, actor=acc.actor, data=b"C2 at hxxp://bad[.]example[.]net/x and 203.0.113.9; CVE-2023-1234"
    )
    assert r2.fmt == ImportFormat.TEXT and r2.by_type == {"indicator": 2, "vulnerability": 1}


def test_attack_ics_import_and_export_validates(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    acc = make_account()
    report = import_source(
        db,
        actor=acc.actor,
        data=(shared_data / "attack/ics-attack-18.1.json").read_bytes(),
        default_tlp=TLP.CLEAR,
    )
    assert report.fmt == ImportFormat.ATTACK
    assert report.by_type["attack-pattern"] > 50 and report.by_type["relationship"] > 500
    import_source(
        db, actor=acc.actor, data=(shared_data / "misp/events/pymisp_existing_event_sednit.json").read_bytes()
    )
    files = export_selection(db, actor=acc.actor, fmt=ExportFormat.STIX, flt=ExportFilter())
    bundle = orjson.loads(files["bundle.json"])
    assert len(bundle["objects"]) > 1800
    from stix2validator import ValidationOptions, validate_string

    fast_stix2_validator()
    result = validate_string(files["bundle.json"].decode(), ValidationOptions(version="2.1", strict=False))
    errors = (
        [str(e) for r in result.object_results for e in r.errors] if hasattr(result, "object_results") else []
    )
    assert result.is_valid, errors[:10]


def test_export_respects_visibility_and_filters(db: Session, make_account: Callable[..., Any]) -> None:
    a = make_account(org="ORG-A")
    b = make_account(org="ORG-B")
    csv = b"type,value\nip-dst,198.51.100.1\n"
    import_source(db, actor=a.actor, data=csv, default_tlp=TLP.RED)
    import_source(db, actor=a.actor, data=b"type,value\nip-dst,198.51.100.2\n", default_tlp=TLP.GREEN)
    seen_by_b = export_selection(db, actor=b.actor, fmt=ExportFormat.VALUES, flt=ExportFilter())["values.txt"]
    assert seen_by_b == b"198.51.100.2\n"
    seen_by_a = export_selection(db, actor=a.actor, fmt=ExportFormat.VALUES, flt=ExportFilter())["values.txt"]
    assert sorted(seen_by_a.split()) == [b"198.51.100.1", b"198.51.100.2"]
    green_only = export_selection(
        db, actor=a.actor, fmt=ExportFormat.VALUES, flt=ExportFilter(max_tlp=TLP.GREEN)
    )
    assert green_only["values.txt"] == b"198.51.100.2\n"
    none = export_selection(db, actor=a.actor, fmt=ExportFormat.VALUES, flt=ExportFilter(types=["malware"]))
    assert none["values.txt"] == b""


def test_misp_round_trip(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    """MISP → colsec → MISP keeps every attribute value, type, tag and object relation.

    Intended differences: line ends inside values come back as ``\\n`` (STIX text),
    galaxy tags of the event come back as galaxies (their tag names are compared),
    tags misp-stix adds about itself are dropped, and ``url`` attributes that are no
    URLs come back as STIX has them (``http://`` before a bare host, else ``other``).
    """
    from pymisp import MISPEvent

    acc = make_account()
    for name in (
        "pymisp_asert_long_event.json",
        "pymisp_existing_event_sednit.json",
        "pymisp_circl_xorist_57c4445b.json",
        "pymisp_misp_event.json",
        "pymisp_shadow_attributes.json",
    ):
        wrapper = json.loads((shared_data / "misp/events" / name).read_text())
        import_source(db, actor=acc.actor, data=orjson.dumps(wrapper))
        src = conform_url_attributes(wrapper.get("Event", wrapper))
        container = [f"report--{src['uuid']}", f"grouping--{src['uuid']}"]
        refs: list[str] = []
        for cid in container:
            row = db.execute(select(StixObject.body).where(StixObject.id == cid)).scalar()
            if row:
                refs = [cid, *orjson.loads(row)["object_refs"]]
        files = export_selection(db, actor=acc.actor, fmt=ExportFormat.MISP, flt=ExportFilter(ids=refs))
        ev = MISPEvent()
        ev.load(files["event.json"].decode())

        def v(x: Any) -> str:
            return str(x).replace("\r\n", "\n")

        want = {
            (a["uuid"], a["type"], v(a["value"]), frozenset(t["name"] for t in a.get("Tag", [])))
            for a in src.get("Attribute", [])
        }
        got = {(a.uuid, a.type, v(a.value), frozenset(t.name for t in a.tags)) for a in ev.attributes}
        assert want == got, name
        want_o = {
            (
                o["uuid"],
                o["name"],
                frozenset((x["object_relation"], x["type"], v(x["value"])) for x in o["Attribute"]),
            )
            for o in src.get("Object", [])
        }
        got_o = {
            (o.uuid, o.name, frozenset((x.object_relation, x.type, v(x.value)) for x in o.attributes))
            for o in ev.objects
        }
        assert want_o == got_o, name
        want_refs = {
            (o["uuid"], r["referenced_uuid"], r["relationship_type"])
            for o in src.get("Object", [])
            for r in o.get("ObjectReference", [])
        }
        got_refs = {
            (o.uuid, r.referenced_uuid, r.relationship_type) for o in ev.objects for r in o.references
        }
        assert want_refs <= got_refs, name
        tags = {t.name for t in ev.tags} | {
            getattr(c, "tag_name", f'misp-galaxy:{c.type}="{c.value}"')
            for g in ev.galaxies
            for c in g.clusters
        }
        # Known gap shared with misp-stix (the reference): of several clusters of one galaxy on an
        # event only the first becomes a STIX object, so only those galaxy tags can come back.
        first_clusters = {
            f'misp-galaxy:{g["type"]}="{g["GalaxyCluster"][0]["value"]}"' for g in src.get("Galaxy", [])
        }
        plain = {t["name"] for t in src.get("Tag", []) if not t["name"].startswith("misp-galaxy:")}
        assert plain | first_clusters <= tags, name


def test_suricata_export_from_store(
    db: Session, make_account: Callable[..., Any], shared_data: Path, tmp_path: Path
) -> None:
    suricata = shutil.which("suricata")
    if suricata is None:
        pytest.skip("suricata not installed (.ci/install-suricata.sh)")
    acc = make_account()
    import_source(
        db, actor=acc.actor, data=(shared_data / "misp/events/pymisp_asert_long_event.json").read_bytes()
    )
    # Every indicator of the (2015) event: this checks the rules, not which ones are still in force,
    # which depends on whether scoring ran on import.
    files = export_selection(
        db,
        actor=acc.actor,
        fmt=ExportFormat.SURICATA,
        flt=ExportFilter(types=["indicator"], all_indicators=True),
    )
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    proc = subprocess.run(
        [suricata, "-T", "-S", str(tmp_path / "colsec.rules"), "-l", str(tmp_path), "--set", f"default-rule-path={tmp_path}", "-v"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "0 rules failed" in proc.stdout + proc.stderr
    assert files["colsec.rules"].count(b"\nalert ") > 30


def test_demo_and_attack_export_passes_stix2_validator(
    db: Session, make_account: Callable[..., Any], shared_data: Path
) -> None:
    """Export of the demo intelligence plus ATT&CK (ICS, the authentic upstream bundle): no validator errors."""
    import warnings

    from colsec import demo

    acc = make_account()
    demo.build_demo(db)  # the demo's STIX intelligence alone: no domain extensions passed
    report = import_source(
        db, actor=acc.actor, data=(shared_data / "attack/ics-attack-18.1.json").read_bytes()
    )
    assert report.fmt == ImportFormat.ATTACK
    files = export_selection(db, actor=acc.actor, fmt=ExportFormat.STIX, flt=ExportFilter())
    bundle = orjson.loads(files["bundle.json"])
    types = {o["type"] for o in bundle["objects"]}
    assert {
        "attack-pattern",
        "intrusion-set",
        "malware",
        "course-of-action",
        "indicator",
        "identity",
    } <= types
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from stix2validator import ValidationOptions, validate_string

        fast_stix2_validator()
        result = validate_string(
            files["bundle.json"].decode(), ValidationOptions(version="2.1", strict=False)
        )
    errors = [str(e) for r in getattr(result, "object_results", []) for e in r.errors]
    assert result.is_valid, errors[:10]


@pytest.mark.slow
def test_enterprise_attack_import(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    """ATT&CK Enterprise: every object lands; revoked stay revoked, deprecated stay marked (USAGE.md)."""
    import gzip

    from colsec.formats.attack import attack_objects, resolve_revoked
    from colsec.formats.stix_bundle import read_bundle

    acc = make_account()
    data = gzip.decompress((shared_data / "attack/enterprise-attack-18.1.stix21.json.gz").read_bytes())
    report = import_source(db, actor=acc.actor, data=data, default_tlp=TLP.CLEAR)
    assert report.fmt == ImportFormat.ATTACK and report.received == 24771
    assert report.by_type["attack-pattern"] == 835 and report.by_type["intrusion-set"] == 187
    revoked = db.execute(
        select(func.count()).select_from(StixObject).where(StixObject.revoked.is_(True))
    ).scalar()
    assert revoked and revoked > 50
    import io

    objs = list(read_bundle(io.BytesIO(data), source="enterprise"))
    current = list(attack_objects(objs, current_only=True))
    assert all(not o.get("revoked") and not o.get("x_mitre_deprecated") for o in current)
    replacements = resolve_revoked(objs)
    ids = {o["id"] for o in objs}
    assert replacements and all(v in ids for v in replacements.values())


def test_label_and_since_filters(db: Session, make_account: Callable[..., Any], shared_data: Path) -> None:
    acc = make_account()
    import_source(
        db, actor=acc.actor, data=(shared_data / "misp/events/pymisp_circl_xorist_57c4445b.json").read_bytes()
    )
    flt = ExportFilter(labels=['misp:type="md5"'])
    got = orjson.loads(export_selection(db, actor=acc.actor, fmt=ExportFormat.STIX, flt=flt)["bundle.json"])[
        "objects"
    ]
    assert got and all(
        'misp:type="md5"' in o.get("labels", []) for o in got if o["type"] != "marking-definition"
    )
    future = ExportFilter(added_since="2999-01-01T00:00:00Z")
    assert (
        orjson.loads(export_selection(db, actor=acc.actor, fmt=ExportFormat.STIX, flt=future)["bundle.json"])[
            "objects"
        ]
        == []
    )
    with pytest.raises(InvalidInput, match=r"added since.*give a date \(2026-01-31\) or an RFC 3339 time"):
        export_selection(
            db, actor=acc.actor, fmt=ExportFormat.STIX, flt=ExportFilter(added_since="yesterday")
        )
    for since, found in (("2999-01-01", False), ("2000-01-01", True)):  # a date: from its start, in UTC
        bundle = export_selection(
            db, actor=acc.actor, fmt=ExportFormat.STIX, flt=ExportFilter(added_since=since)
        )
        assert bool(orjson.loads(bundle["bundle.json"])["objects"]) is found, since


def test_misp_sharing_group_becomes_sharing_policy(
    db: Session, make_account: Callable[..., Any], shared_data: Path
) -> None:
    from colsec.store.models import SharingGroup

    acc = make_account()
    group = SharingGroup(name="Nordic CERTs", description="")
    db.add(group)
    db.flush()
    wrapper = json.loads((shared_data / "misp/events/pymisp_misp_event.json").read_text())
    event = wrapper.get("Event", wrapper)
    event["Tag"] = [t for t in event.get("Tag", []) if not t["name"].lower().startswith("tlp:")]
    event["distribution"] = "4"
    event["SharingGroup"] = {"name": "Nordic CERTs", "uuid": "5d0f1d7d-6a43-4c2b-9d5e-2f1b1a3c4d5e"}
    report = import_source(db, actor=acc.actor, data=orjson.dumps(wrapper))
    rows = db.execute(
        select(StixObject.tlp, StixObject.sharing_group_id).where(StixObject.type == "observed-data")
    ).all()
    assert rows and all(r.tlp == int(TLP.AMBER) and r.sharing_group_id == group.id for r in rows)
    assert not report.notes
    # a group unknown here: never wider than MISP allowed, so it stays with the owner
    event["uuid"] = "7e0f1d7d-6a43-4c2b-9d5e-2f1b1a3c4d5f"
    event["SharingGroup"] = {"name": "Unknown Group"}
    for attr in event.get("Attribute", []):
        attr["uuid"] = attr["uuid"][:-4] + "ffff"
    report = import_source(db, actor=acc.actor, data=orjson.dumps(wrapper))
    assert report.notes and "Unknown Group" in report.notes[0]
    strict = (
        db.execute(select(StixObject.tlp).where(StixObject.id.like("observed-data--%ffff"))).scalars().all()
    )
    assert strict and set(strict) == {int(TLP.AMBER_STRICT)}
