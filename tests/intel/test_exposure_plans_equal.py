"""Exposure's post-import check reads only what can touch an asset, and raises the alerts it raised
when it read every new version.

``exposure.check_objects`` used to read the seq, id and type of every new latest version, then
the observables of them all; it now reads nothing when no asset is registered, and otherwise
only the observables of the kinds that can touch one (joined to their latest, unrevoked
version) and the sightings by type.  The reference below is the step as it was.  Both run
over the same unit (assets with ranges, domains and a vulnerable CPE; indicators inside and
outside them, a URL and an e-mail under a domain, a revoked and a superseded one, a sighting
of an indicator in range, a vulnerability naming a CVE): the alerts must be identical.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from colsec.intel import exposure
from colsec.intel.assets import create_asset
from colsec.intel.models import Alert, AlertObject, AlertRecipient
from colsec.intel.schemas import AssetIn
from colsec.intel.scoring import range_driven
from colsec.intel.vulns import load_kev, load_nvd
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import Observable, StixObject
from colsec.store.seqsets import seq_batches

from .conftest import Orgs, indicator, sighting


def _old_check_objects(db: Session, seqs: Sequence[int]) -> list[Alert]:
    """The reference: every new latest version read, then the observables of them all."""
    index = exposure.AssetIndex.load(db)
    alerts: list[Alert] = []
    obj_info: dict[int, tuple[str, str]] = {}
    sightings: list[tuple[int, str, str]] = []
    body = case((StixObject.type == "sighting", StixObject.body))
    for batch in seq_batches(StixObject.seq, seqs):
        for seq, oid, typ, sighting_body in db.execute(
            select(StixObject.seq, StixObject.id, StixObject.type, body).where(
                batch, StixObject.is_latest, StixObject.revoked.is_(False)
            )
        ):
            obj_info[seq] = (oid, typ)
            if typ == "sighting":
                ref = orjson.loads(sighting_body).get("sighting_of_ref")
                if isinstance(ref, str):
                    sightings.append((seq, oid, ref))
    cves: dict[str, list[int]] = defaultdict(list)
    for batch in seq_batches(Observable.object_seq, list(obj_info)):
        for seq, value in db.execute(
            select(Observable.object_seq, Observable.value).where(
                batch, range_driven(Observable.kind) == "cve"
            )
        ):
            cves[value].append(seq)
    if cves:
        alerts += exposure.check_vulnerabilities(db, sorted(cves), objects=cves)
    if not index.items:
        return alerts
    values: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for batch in seq_batches(Observable.object_seq, list(obj_info)):
        for seq, kind, value in db.execute(
            select(Observable.object_seq, Observable.kind, Observable.value).where(
                batch, range_driven(Observable.kind).in_(exposure._VALUE_KINDS)
            )
        ):
            values[seq].append((kind, value))
    for seq, pairs in values.items():
        oid, typ = obj_info[seq]
        for kind, value in pairs:
            for asset, reason in index.touched_by(kind, value):
                a = exposure._indicator_alert(db, asset, seq, oid, typ, (kind, value, reason), ())
                if a is not None:
                    alerts.append(a)
    for seq, oid, ref in sightings:
        row = db.execute(
            select(StixObject.seq).where(StixObject.id == ref, StixObject.is_latest)
        ).scalar_one_or_none()
        if row is None:
            continue
        for kind, value in db.execute(
            select(Observable.kind, Observable.value).where(
                Observable.object_seq == row, Observable.kind.in_(exposure._VALUE_KINDS)
            )
        ).all():
            for asset, reason in index.touched_by(kind, value):
                a = exposure._indicator_alert(db, asset, seq, oid, "sighting", (kind, value, reason), (row,))
                if a is not None:
                    alerts.append(a)
    return alerts


def _alerts(db: Session, seqs: list[int], check: Any) -> tuple[list[tuple[Any, ...]], list[str]]:
    point = db.begin_nested()
    raised = sorted(a.dedupe_key for a in check(db, seqs))  # the same alerts; their order carries nothing
    db.flush()
    rows = []
    for a in db.execute(select(Alert).where(Alert.kind == "exposure")).scalars():
        objects = sorted(
            db.execute(select(AlertObject.object_seq).where(AlertObject.alert_id == a.id)).scalars()
        )
        recipients = sorted(
            db.execute(
                select(AlertRecipient.organisation_id).where(AlertRecipient.alert_id == a.id)
            ).scalars()
        )
        rows.append(
            (a.dedupe_key, a.severity, a.title, a.value_kind, a.value, a.cve, a.asset_id, objects, recipients)
        )
    point.rollback()
    return sorted(rows, key=repr), raised


def _vulnerability(cve: str) -> dict[str, Any]:
    return {
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": f"vulnerability--{uuid.uuid5(uuid.NAMESPACE_URL, cve)}",
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "name": cve,
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }


def test_exposure_reading_touching_kinds_equals_reading_every_version(
    db: Session, orgs: Orgs, shared_data: Path
) -> None:
    orgs("ACC", kind="crisis_centre")
    orgs("A")
    before = sorted(db.execute(select(StixObject.seq)).scalars())
    # no asset yet: neither reads anything that raises an alert
    quiet = orgs.add("B", [indicator("q1", "ipv4", "198.51.100.5"), _vulnerability("CVE-2023-34362")])
    assert _alerts(db, quiet, exposure.check_objects) == _alerts(db, quiet, _old_check_objects) == ([], [])
    vulns = shared_data / "vulns"
    load_kev(db, vulns / "cisa_kev" / "known_exploited_vulnerabilities.json")
    load_nvd(db, sorted((vulns / "nvd_cve_json_2.0").glob("*.json")))
    for name, data in (
        ("grid", AssetIn(name="grid", sector="energy", criticality="high", ip_ranges=["198.51.100.0/24"],
                         domains=["grid.example.org"])),
        ("files", AssetIn(name="files", sector="water", criticality="critical",
                          cpes=["cpe:2.3:a:progress:moveit_transfer:2023.0.1:*:*:*:*:*:*:*"])),
        ("low", AssetIn(name="low", sector="transport", criticality="low", ip_ranges=["203.0.113.0/28"])),
    ):  # fmt: skip
        del name
        create_asset(db, actor=orgs.actor("A"), data=data)
    inside = indicator("in", "ipv4", "198.51.100.77", created="2026-11-20T10:00:00.000Z")
    seqs = orgs.add(
        "B",
        [
            inside,
            indicator("out", "ipv4", "192.0.2.1"),
            indicator("url", "url", "https://portal.grid.example.org/login"),
            indicator("mail", "email", "ops@grid.example.org"),
            indicator("dom", "domain", "mail.grid.example.org"),
            indicator("low", "ipv4", "203.0.113.3"),
            indicator("gone", "ipv4", "198.51.100.9", revoked=True),
            {
                "type": "ipv4-addr",
                "spec_version": "2.1",
                "id": f"ipv4-addr--{uuid.uuid4()}",
                "value": "198.51.100.78",
            },
            _vulnerability("CVE-2023-34362"),
            _vulnerability("CVE-2023-4966"),
        ],
    )
    seqs += orgs.add("B", [{**inside, "modified": "2026-11-22T10:00:00.000Z"}])  # the first one superseded
    seqs += orgs.add("C", [sighting("s1", inside["id"], created="2026-11-23T10:00:00.000Z")])
    every = sorted(db.execute(select(StixObject.seq)).scalars())
    for unit in (seqs, every, [s for s in every if s not in before], seqs[-1:], seqs[:3]):
        new, raised = _alerts(db, unit, exposure.check_objects)
        assert (new, raised) == _alerts(db, unit, _old_check_objects)
    whole, _ = _alerts(db, seqs, exposure.check_objects)
    assert {row[4] for row in whole} >= {
        "198.51.100.77",
        "198.51.100.78",
        "https://portal.grid.example.org/login",
    }
    assert any(row[5] == "CVE-2023-34362" for row in whole)
    assert "198.51.100.9" not in {row[4] for row in whole}  # revoked: no alert
