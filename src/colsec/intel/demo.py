"""Demo extension: assets of three members, a small vulnerability catalogue, sightings by several members.

Gives ``colsec demo`` a few exposure alerts (a shared indicator in a power grid's
range, a phishing domain under a water utility's domain, a KEV CVE on a vulnerable
MOVEit version) and one cross-member alert (three members sight the same C2 address
within a day).  Idempotent: assets are matched by name, objects by id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.intel.assets import create_asset
from colsec.intel.correlation import CorrelationConfig, rebuild
from colsec.intel.exposure import check_vulnerabilities
from colsec.intel.hooks import IntelConfig, benign_lookup
from colsec.intel.models import Asset, Correlation, Vulnerability
from colsec.intel.schemas import AssetIn
from colsec.intel.signals import check_keys
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store.models import Observable, StixObject
from colsec.store.service import import_objects

__all__ = ["extend_demo"]

NS = uuid.UUID("9a1d4c2e-6b7f-4e3a-8c5d-0f2e1b3a4c70")

# Public NVD / KEV facts for two CVEs (enough for the demo without the full catalogues).
_CATALOGUE = [
    ("CVE-2023-34362", "Progress", "MOVEit Transfer", "Progress MOVEit Transfer SQL Injection Vulnerability", "2023-06-02",
     [{"criteria": "cpe:2.3:a:progress:moveit_transfer:*:*:*:*:*:*:*:*", "start_incl": "2023.0.0", "end_excl": "2023.0.2"},
      {"criteria": "cpe:2.3:a:progress:moveit_transfer:*:*:*:*:*:*:*:*", "start_incl": "2022.1.0", "end_excl": "2022.1.6"}]),
    ("CVE-2023-4966", "Citrix", "NetScaler ADC and NetScaler Gateway", "Citrix NetScaler Information Disclosure", "2023-10-18",
     [{"criteria": "cpe:2.3:a:citrix:netscaler_gateway:*:*:*:*:*:*:*:*", "start_incl": "13.1", "end_excl": "13.1-49.15"}]),
]  # fmt: skip

_ASSETS = {
    "NM-CERT": AssetIn(name="Northmark grid SCADA", sector="energy", criticality="critical",
                       ip_ranges=["198.51.100.20/30"], domains=["grid.example.com"]),
    "EV-CERT": AssetIn(name="Eastvale water utility portal", sector="water", criticality="high",
                       domains=["login-portal.example.net"], cpes=["cpe:2.3:a:citrix:netscaler_gateway:13.1-49.13:*:*:*:*:*:*:*"]),
    "SD-CERT": AssetIn(name="Sundar health records exchange", sector="health", criticality="medium",
                       cpes=["cpe:2.3:a:progress:moveit_transfer:2023.0.1:*:*:*:*:*:*:*"]),
    "WH-CERT": AssetIn(name="Westholm rail signalling", sector="transport", criticality="high",
                       cpes=["cpe:2.3:a:progress:moveit_transfer:2023.0.2:*:*:*:*:*:*:*"]),
}  # fmt: skip


def _ensure_catalogue(db: Session) -> list[str]:
    added = []
    for cve, vendor, product, name, date, matches in _CATALOGUE:
        if db.get(Vulnerability, cve) is None:
            db.add(
                Vulnerability(
                    cve=cve, in_kev=True, kev_date_added=date, vendor=vendor, product=product, name=name,
                    ransomware=True, cpe_matches=orjson.dumps(matches).decode(), updated_at=now_timestamp(),
                )
            )  # fmt: skip
            added.append(cve)
    db.flush()
    return added


def _actor(org: Organisation) -> Actor:
    return Actor(
        username=f"{org.short_name.lower()}-demo",
        role=Role.ANALYST,
        org_id=org.id,
        org_short_name=org.short_name,
    )


def extend_demo(db: Session, orgs: dict[str, Organisation], *, config: IntelConfig) -> None:
    cfg = config
    rebuild(db, config=CorrelationConfig(cap=cfg.cap, benign=benign_lookup(db, cfg)))
    added = _ensure_catalogue(db)
    for short, data in _ASSETS.items():
        org = orgs.get(short)
        if org is None:
            continue
        if (
            db.execute(
                select(Asset.id).where(Asset.organisation_id == org.id, Asset.name == data.name)
            ).first()
            is None
        ):
            create_asset(db, actor=_actor(org), data=data)
    if added:
        check_vulnerabilities(db, added)
    # three members sight the most shared C2 address within one day
    target = db.execute(
        select(StixObject.id)
        .join(Observable, Observable.object_seq == StixObject.seq)
        .where(Observable.kind == "ipv4", Observable.value == "198.51.100.23", StixObject.type == "indicator",
               StixObject.is_latest, StixObject.tlp <= int(TLP.GREEN))
        .order_by(StixObject.seq)
        .limit(1)
    ).scalar()  # fmt: skip
    if target is None:
        return
    for i, short in enumerate(["NM-CERT", "KD-CERT", "RL-CERT"]):
        org = orgs.get(short)
        if org is None:
            continue
        # yesterday, three members within hours of each other
        day = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
        seen = f"{day}T{8 + 3 * i:02d}:15:00.000Z"
        sighting = {
            "type": "sighting", "spec_version": "2.1", "id": f"sighting--{uuid.uuid5(NS, short)}",
            "created": seen, "modified": seen, "first_seen": seen, "last_seen": seen, "count": 3 + i,
            "sighting_of_ref": target, "where_sighted_refs": [org.identity_id], "created_by_ref": org.identity_id,
            "object_marking_refs": [marking_id(TLP.GREEN)],
        }  # fmt: skip
        import_objects(db, actor=_actor(org), objects=[sighting], owner_org_id=org.id)
    keys = [
        (k, v)
        for k, v in db.execute(
            select(Correlation.kind, Correlation.value).where(
                Correlation.status == "active", Correlation.n_owners >= cfg.cross_member_threshold
            )
        )
    ]
    check_keys(db, keys, threshold=cfg.cross_member_threshold, window_hours=cfg.cross_member_window_hours)
