"""Exposure: shared intelligence or a known-exploited vulnerability that touches a registered asset.

Alerts go to the asset's owner, and to the crisis centre when the asset's
criticality is high or critical.  Indicator and sighting alerts reach only
recipients who may see the object under the sharing policy; vulnerability alerts
rest on public catalogues and reach them regardless.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.intel.alerts import raise_alert
from colsec.intel.containment import host_of
from colsec.intel.models import Alert, Asset, Vulnerability
from colsec.intel.scoring import range_driven
from colsec.intel.vulns import Cpe, match_vulnerability, parse_cpe
from colsec.store.models import Observable, StixObject
from colsec.store.seqsets import seq_batches

__all__ = ["AssetIndex", "check_objects", "check_vulnerabilities", "scan_asset", "value_key"]

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
HIGH = 3


@dataclass
class _AssetFacts:
    asset: Asset
    nets: list[Net]
    domains: list[str]
    cpes: list[Cpe]


class AssetIndex:
    """All registered assets, prepared for value lookups (assets number in the thousands at most)."""

    def __init__(self, assets: Iterable[Asset]) -> None:
        self.items: list[_AssetFacts] = []
        for a in assets:
            nets = [ipaddress.ip_network(r, strict=False) for r in orjson.loads(a.ip_ranges)]
            cpes = [parse_cpe(c) for c in orjson.loads(a.cpes)]
            self.items.append(_AssetFacts(a, nets, list(orjson.loads(a.domains)), cpes))

    @classmethod
    def load(cls, db: Session) -> AssetIndex:
        return cls(db.execute(select(Asset)).scalars())

    def touched_by(self, kind: str, value: str) -> list[tuple[Asset, str]]:
        hits: list[tuple[Asset, str]] = []
        if kind in ("ipv4", "ipv6", "cidr4", "cidr6", "ip"):
            try:
                net = ipaddress.ip_network(value, strict=False)
            except ValueError:
                return hits
            for f in self.items:
                for n in f.nets:
                    if n.version == net.version and n.overlaps(net):
                        hits.append((f.asset, f"{value} in {n}"))
                        break
            return hits
        host = value if kind == "domain" else host_of(kind, value)
        if host is None:
            return hits
        for f in self.items:
            for d in f.domains:
                if host == d or host.endswith("." + d):
                    hits.append((f.asset, f"{value} under {d}"))
                    break
        return hits


def _crisis_centres(db: Session) -> list[int]:
    return list(db.execute(select(Organisation.id).where(Organisation.kind == "crisis_centre")).scalars())


def _recipients(db: Session, asset: Asset) -> list[int]:
    out = [asset.organisation_id]
    if asset.criticality >= HIGH:
        out += _crisis_centres(db)
    return out


def _severity(asset: Asset, kev: bool = True) -> str:
    if asset.criticality >= 4:
        return "critical" if kev else "high"
    if asset.criticality >= HIGH:
        return "high" if kev else "medium"
    return "medium" if kev else "low"


def value_key(asset_id: int, value: str) -> str:
    """One exposure alert per (asset, value): every indicator or sighting stating it adds to that alert."""
    return f"exposure:asset:{asset_id}:value:{value}"[:300]


def _indicator_alert(
    db: Session,
    asset: Asset,
    seq: int,
    oid: str,
    typ: str,
    hit: tuple[str, str, str],
    extra: Sequence[int],
) -> Alert | None:
    what = "sighting" if typ == "sighting" else typ
    kind, value, reason = hit
    return raise_alert(
        db,
        kind="exposure",
        dedupe_key=value_key(asset.id, value),
        value_kind=kind,
        value=value,
        severity=_severity(asset),
        title=f"Shared {what} touches asset {asset.name}: {reason}"[:400],
        recipients=_recipients(db, asset),
        object_seqs=[seq, *extra],
        asset_id=asset.id,
        details={"asset": asset.name, "sector": asset.sector, "reason": reason, "object_id": oid},
    )


_VALUE_KINDS = ("ipv4", "ipv6", "cidr4", "cidr6", "domain", "url", "email")


def check_objects(db: Session, seqs: Sequence[int], index: AssetIndex | None = None) -> list[Alert]:
    """Exposure alerts for new object versions: indicators/SCOs by their values, sightings by their indicator's.

    With no asset registered nothing can touch one (nor can a CVE: ``check_vulnerabilities``
    has no target), so a node without assets reads nothing.  Otherwise only the observables
    of the kinds that can touch an asset are read, joined to their latest, unrevoked
    versions, and the sightings by type: never a row per new version.
    """
    index = index or AssetIndex.load(db)
    if not index.items:
        return []
    alerts: list[Alert] = []
    cves: dict[str, list[int]] = defaultdict(list)
    values: dict[int, tuple[str, str, list[tuple[str, str]]]] = {}  # seq -> (id, type, (kind, value)...)
    for batch in seq_batches(Observable.object_seq, seqs):
        for seq, kind, value, oid, typ in db.execute(
            select(Observable.object_seq, Observable.kind, Observable.value, StixObject.id, StixObject.type)
            .join(StixObject, StixObject.seq == Observable.object_seq)
            .where(
                batch,
                range_driven(Observable.kind).in_(("cve", *_VALUE_KINDS)),
                StixObject.is_latest,
                StixObject.revoked.is_(False),
            )
            .order_by(Observable.object_seq, Observable.id)
        ):
            if kind == "cve":
                cves[value].append(seq)
            else:
                values.setdefault(seq, (oid, typ, []))[2].append((kind, value))
    sightings: list[tuple[int, str, str]] = []
    for batch in seq_batches(StixObject.seq, seqs):
        for seq, oid, sighting_body in db.execute(
            select(StixObject.seq, StixObject.id, StixObject.body)
            .where(
                batch,
                range_driven(StixObject.type) == "sighting",
                StixObject.is_latest,
                StixObject.revoked.is_(False),
            )
            .order_by(StixObject.seq)
        ):
            ref = orjson.loads(sighting_body).get("sighting_of_ref")
            if isinstance(ref, str):
                sightings.append((seq, oid, ref))
    if cves:
        alerts += check_vulnerabilities(db, sorted(cves), objects=cves)
    for seq, (oid, typ, pairs) in values.items():
        for kind, value in pairs:
            for asset, reason in index.touched_by(kind, value):
                hit = (kind, value, reason)
                if (a := _indicator_alert(db, asset, seq, oid, typ, hit, ())) is not None:
                    alerts.append(a)
    for seq, oid, ref in sightings:
        row = db.execute(
            select(StixObject.seq).where(StixObject.id == ref, StixObject.is_latest)
        ).scalar_one_or_none()
        if row is None:
            continue
        for kind, value in db.execute(
            select(Observable.kind, Observable.value).where(
                Observable.object_seq == row, Observable.kind.in_(_VALUE_KINDS)
            )
        ).all():
            for asset, reason in index.touched_by(kind, value):
                hit = (kind, value, reason)
                if (a := _indicator_alert(db, asset, seq, oid, "sighting", hit, (row,))) is not None:
                    alerts.append(a)
    return alerts


def _cve_objects(db: Session, cves: Sequence[str]) -> dict[str, list[int]]:
    """Latest STIX vulnerability objects that name the CVEs (alert refs, filtered per reader)."""
    out: dict[str, list[int]] = defaultdict(list)
    for i in range(0, len(cves), 900):
        for value, seq in db.execute(
            select(Observable.value, Observable.object_seq)
            .join(StixObject, StixObject.seq == Observable.object_seq)
            .where(
                Observable.kind == "cve", Observable.value.in_(list(cves[i : i + 900])), StixObject.is_latest
            )
        ):
            out[value].append(seq)
    return out


def _vuln_alert(
    db: Session, asset: Asset, vuln: Vulnerability, cpe: Cpe, basis: str, seqs: Sequence[int]
) -> Alert | None:
    kev = " (known exploited)" if vuln.in_kev else ""
    return raise_alert(
        db,
        kind="exposure",
        dedupe_key=f"exposure:cve:{vuln.cve}:asset:{asset.id}",
        severity=_severity(asset, vuln.in_kev),
        title=f"{vuln.cve}{kev} affects asset {asset.name} ({cpe.vendor} {cpe.product} {cpe.version})"[:400],
        recipients=_recipients(db, asset),
        object_seqs=seqs,
        asset_id=asset.id,
        cve=vuln.cve,
        public=True,
        details={
            "asset": asset.name, "sector": asset.sector, "cpe": str(cpe), "basis": basis, "kev": vuln.in_kev,
            "kev_date_added": vuln.kev_date_added, "vulnerability": vuln.name, "ransomware": vuln.ransomware,
        },
    )  # fmt: skip


def check_vulnerabilities(
    db: Session,
    cves: Sequence[str],
    *,
    assets: Sequence[Asset] | None = None,
    objects: dict[str, list[int]] | None = None,
) -> list[Alert]:
    """Exposure alerts for the named CVEs (catalogue rows) against assets' CPEs."""
    index = AssetIndex(assets) if assets is not None else AssetIndex.load(db)
    targets = [f for f in index.items if f.cpes]
    if not targets or not cves:
        return []
    refs = _cve_objects(db, list(cves))
    for cve, seqs in (objects or {}).items():
        refs[cve] = sorted(set(refs.get(cve, [])) | set(seqs))
    alerts: list[Alert] = []
    for i in range(0, len(cves), 900):
        for vuln in db.execute(
            select(Vulnerability).where(Vulnerability.cve.in_(list(cves[i : i + 900])))
        ).scalars():
            if not vuln.in_kev and vuln.cpe_matches is None:
                continue
            for f in targets:
                hit = match_vulnerability(vuln, f.cpes)
                if hit is not None and (
                    a := _vuln_alert(db, f.asset, vuln, hit[0], hit[1], refs.get(vuln.cve, []))
                ):
                    alerts.append(a)
    return alerts


def scan_asset(db: Session, asset: Asset) -> list[Alert]:
    """A newly registered asset: existing intelligence in its ranges/domains, and catalogue CVEs."""
    index = AssetIndex([asset])
    alerts: list[Alert] = []
    facts = index.items[0]
    seqs: set[int] = set()
    for net in facts.nets:
        kind = "ipv4" if net.version == 4 else "ipv6"
        stmt = select(Observable.object_seq, Observable.value).where(
            Observable.kind.in_([kind, f"cidr{net.version}"])
        )
        if net.version == 4 and net.prefixlen >= 8:
            prefix = ".".join(str(net.network_address).split(".")[: net.prefixlen // 8]) + "."
            stmt = stmt.where(Observable.value >= prefix, Observable.value < prefix[:-1] + "/")
        for seq, value in db.execute(stmt):
            try:
                if ipaddress.ip_network(value, strict=False).overlaps(net):
                    seqs.add(seq)
            except ValueError:
                continue
    for d in facts.domains:
        dstmt = select(Observable.object_seq).where(
            Observable.kind.in_(["domain", "url", "email"]),
            (Observable.value == d) | Observable.value.like(f"%.{d}") | Observable.value.like(f"%{d}/%")
            | Observable.value.like(f"%@{d}"),
        )  # fmt: skip
        seqs.update(db.execute(dstmt).scalars())
    if seqs:
        alerts += check_objects(db, sorted(seqs), index)
    cves = list(db.execute(select(Vulnerability.cve)).scalars()) if facts.cpes else []
    alerts += check_vulnerabilities(db, cves, assets=[asset])
    return alerts
