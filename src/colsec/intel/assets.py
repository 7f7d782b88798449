"""Registry of member organisations' critical-infrastructure assets (ranges, domains, CPEs)."""

from __future__ import annotations

import csv
import io
import ipaddress
import re
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.intel.models import Asset
from colsec.intel.schemas import CRITICALITY, AssetIn
from colsec.intel.vulns import parse_cpe
from colsec.store import audit

__all__ = [
    "create_asset",
    "delete_asset",
    "get_asset",
    "import_assets_csv",
    "list_assets",
    "normalise_asset",
    "update_asset",
]

_DOMAIN = re.compile(r"^(?=.{1,253}\Z)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}\Z")
_SPLIT = re.compile(r"[\s;,|]+")


def normalise_asset(data: AssetIn) -> dict[str, Any]:
    """Validated, canonical column values; every bad entry is reported at once."""
    problems: list[str] = []
    bad: list[str] = []  # the values themselves, which the page quotes in the reader's sentence
    ranges = []
    for r in data.ip_ranges:
        try:
            ranges.append(str(ipaddress.ip_network(r.strip(), strict=False)))
        except ValueError:
            problems.append(f"invalid IP range {r!r}")
            bad.append(r)
    domains = []
    for d in data.domains:
        d2 = d.strip().rstrip(".").lower()
        if not _DOMAIN.match(d2):
            problems.append(f"invalid domain {d!r}")
            bad.append(d)
        domains.append(d2)
    cpes = []
    for c in data.cpes:
        try:
            cpes.append(str(parse_cpe(c)))
        except InvalidInput as exc:
            problems.append(exc.message)
            bad.append(c)
    if problems:
        raise InvalidInput(
            "; ".join(problems),
            details={"errors": problems},
            kind="asset_values_invalid",
            params={"values": ", ".join(bad)},
        )
    return {
        "name": data.name.strip(),
        "sector": data.sector.strip().lower(),
        "criticality": CRITICALITY[data.criticality],
        "ip_ranges": orjson.dumps(sorted(set(ranges))).decode(),
        "domains": orjson.dumps(sorted(set(domains))).decode(),
        "cpes": orjson.dumps(sorted(set(cpes))).decode(),
        "description": data.description,
    }


def _target_org(db: Session, actor: Actor, organisation: str | None) -> int:
    if organisation is None:
        if actor.org_id is None:
            raise InvalidInput(
                "the node itself owns no assets: name the organisation", kind="asset_needs_organisation"
            )
        return actor.org_id
    org = db.execute(
        select(Organisation).where(
            (Organisation.short_name == organisation) | (Organisation.name == organisation)
        )
    ).scalar_one_or_none()
    if org is None:
        raise NotFound(
            f"organisation {organisation!r} not found",
            kind="unknown_organisation",
            params={"org": organisation},
        )
    if org.id != actor.org_id and not actor.is_operator:
        raise Forbidden(
            "only the node operator may register assets for another organisation",
            kind="asset_other_org_operator_only",
        )
    return org.id


def create_asset(db: Session, *, actor: Actor, data: AssetIn, scan: bool = True) -> Asset:
    """Register an asset and check existing intelligence and vulnerabilities against it."""
    org_id = _target_org(db, actor, data.organisation)
    values = normalise_asset(data)
    if db.execute(
        select(Asset.id).where(Asset.organisation_id == org_id, Asset.name == values["name"])
    ).first():
        raise Conflict(
            f"asset {values['name']!r} already exists for this organisation",
            kind="asset_exists",
            params={"name": values["name"]},
        )
    asset = Asset(organisation_id=org_id, **values)
    db.add(asset)
    db.flush()
    audit.record(
        db, actor=actor, action="asset.create", target=f"asset:{asset.id}", details={"name": asset.name}
    )
    if scan:
        from colsec.intel.exposure import scan_asset

        scan_asset(db, asset)
    return asset


def update_asset(db: Session, *, actor: Actor, asset_id: int, data: AssetIn, scan: bool = True) -> Asset:
    """Edit an asset of the caller's organisation (or any, for the node operator), then check it again.

    New ranges, domains or CPEs may touch intelligence and vulnerabilities already known.
    """
    asset = get_asset(db, actor=actor, asset_id=asset_id)
    if asset.organisation_id != actor.org_id and not actor.is_operator:
        raise Forbidden("only the owning organisation may edit an asset", kind="asset_owner_only")
    values = normalise_asset(data)
    clash = db.execute(
        select(Asset.id).where(
            Asset.organisation_id == asset.organisation_id, Asset.name == values["name"], Asset.id != asset.id
        )
    ).first()
    if clash:
        raise Conflict(
            f"asset {values['name']!r} already exists for this organisation",
            kind="asset_exists",
            params={"name": values["name"]},
        )
    changed = {k: v for k, v in values.items() if getattr(asset, k) != v}
    for key, value in changed.items():
        setattr(asset, key, value)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="asset.update",
        target=f"asset:{asset.id}",
        details={"changed": sorted(changed)},
    )
    if scan and changed:
        from colsec.intel.exposure import scan_asset

        scan_asset(db, asset)
    return asset


def list_assets(db: Session, *, actor: Actor) -> list[Asset]:
    """An organisation sees its own assets; the node operator and the crisis centre see all."""
    stmt = select(Asset).order_by(Asset.organisation_id, Asset.name)
    if not actor.is_operator:
        kind = db.execute(select(Organisation.kind).where(Organisation.id == actor.org_id)).scalar()
        if kind != "crisis_centre":
            stmt = stmt.where(Asset.organisation_id == actor.org_id)
    return list(db.execute(stmt).scalars())


def get_asset(db: Session, *, actor: Actor, asset_id: int) -> Asset:
    asset = db.get(Asset, asset_id)
    if asset is None or asset not in list_assets(db, actor=actor):
        raise NotFound(f"asset {asset_id} not found", kind="asset_not_found", params={"asset": asset_id})
    return asset


def delete_asset(db: Session, *, actor: Actor, asset_id: int) -> None:
    asset = get_asset(db, actor=actor, asset_id=asset_id)
    if asset.organisation_id != actor.org_id and not actor.is_operator:
        raise Forbidden("only the owning organisation may delete an asset", kind="asset_owner_only")
    db.delete(asset)
    db.flush()
    audit.record(db, actor=actor, action="asset.delete", target=f"asset:{asset_id}")


CSV_COLUMNS = ("name", "sector", "criticality", "ip_ranges", "domains", "cpes", "description", "organisation")


def import_assets_csv(db: Session, *, actor: Actor, text: str) -> list[Asset]:
    """Import assets from CSV (header: name, sector, criticality, ip_ranges, domains, cpes[, description,
    organisation]); list cells are separated by spaces, ';', ',' or '|'.  All rows or none."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("name", "sector", "criticality") if c not in header]
    if missing:
        raise InvalidInput(f"CSV header lacks column(s): {', '.join(missing)}")
    reader.fieldnames = header
    items: list[AssetIn] = []
    problems: list[str] = []
    for lineno, row in enumerate(reader, start=2):

        def cell(name: str, row: dict[str, Any] = row) -> str:
            return str(row.get(name) or "").strip()

        try:
            items.append(
                AssetIn(
                    name=cell("name"), sector=cell("sector"), criticality=cell("criticality").lower(),  # type: ignore[arg-type]
                    ip_ranges=_list(cell("ip_ranges")), domains=_list(cell("domains")), cpes=_list(cell("cpes")),
                    description=cell("description"), organisation=cell("organisation") or None,
                )
            )  # fmt: skip
        except ValidationError as exc:
            err = exc.errors()[0]
            problems.append(f"line {lineno}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
    if problems:
        raise InvalidInput(f"{len(problems)} invalid row(s); nothing imported", details={"errors": problems})
    out = []
    for i, item in enumerate(items, start=2):
        try:
            out.append(create_asset(db, actor=actor, data=item))
        except InvalidInput as exc:
            raise InvalidInput(f"line {i}: {exc.message}") from None
    return out


def _list(cell: str) -> list[str]:
    return [p for p in _SPLIT.split(cell) if p]
