"""Exposure pages: the organisation's asset registry (list, register, edit), each asset's exposure
(the CVEs and shared indicators that touch it), the vulnerability catalogue with KEV flags, and
correlated values.  Domain: ``colsec.intel`` (assets, exposure, vulns, queries)."""

from __future__ import annotations

import re

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput
from colsec.intel import alerts, assets, queries, vulns
from colsec.intel.models import Asset
from colsec.intel.schemas import CRITICALITY, CRITICALITY_NAMES, AssetIn
from colsec.web.deps import DbDep
from colsec.web.node import NodeDep
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, see_other, validated
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page, require

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_SPLIT = re.compile(r"[\s,;]+")
EDITORS = (Role.ANALYST, Role.COORDINATOR)


def _can_edit(actor: Actor) -> bool:
    return actor.org_id is not None and (actor.role == Role.ADMIN or actor.role in EDITORS)


def _lists(asset: Asset) -> dict[str, list[str]]:
    return {k: orjson.loads(getattr(asset, k)) for k in ("ip_ranges", "domains", "cpes")}


async def _asset_in(request: Request) -> AssetIn:
    form = await form_data(request)

    def listed(name: str) -> list[str]:
        return [p for p in _SPLIT.split(field(form, name)) if p]

    return validated(
        AssetIn,
        {"name": field(form, "name"), "sector": field(form, "sector"), "criticality": field(form, "criticality"),
         "ip_ranges": listed("ip_ranges"), "domains": listed("domains"), "cpes": listed("cpes"),
         "description": field(form, "description")},
    )  # fmt: skip


@router.get("/assets", response_class=HTMLResponse)
def assets_page(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    rows = assets.list_assets(db, actor=actor)
    ctx = {
        "rows": [(a, _lists(a)) for a in rows],
        "open": alerts.open_by_asset(db, org_id=actor.org_id, asset_ids=[a.id for a in rows])
        if actor.org_id is not None
        else {},
        "can_edit": _can_edit(actor),
        "criticalities": list(CRITICALITY),
        "crit_names": CRITICALITY_NAMES,
    }
    return page(request, "ui/assets.html", ctx, actor=actor)


@router.post("/assets")
async def register_asset(request: Request, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, "/assets")
    require(actor, *EDITORS)
    asset = assets.create_asset(db, actor=actor, data=await _asset_in(request))
    return see_other(f"/assets/{asset.id}")


@router.get("/assets/{asset_id}", response_class=HTMLResponse)
def asset_page(request: Request, db: DbDep, actor: PageActor, asset_id: IdPath) -> HTMLResponse:
    asset = assets.get_asset(db, actor=actor, asset_id=asset_id)
    exposure = (
        alerts.list_alerts(db, org_id=actor.org_id, asset_id=asset.id, limit=200)
        if actor.org_id is not None
        else []
    )
    ctx = {
        "asset": asset,
        "lists": _lists(asset),
        "cves": [a for a in exposure if a.cve],
        "indicators": [a for a in exposure if not a.cve],
        "can_edit": _can_edit(actor) and (asset.organisation_id == actor.org_id or actor.is_operator),
        "criticalities": list(CRITICALITY),
        "crit_names": CRITICALITY_NAMES,
    }
    return page(request, "ui/asset.html", ctx, actor=actor)


@router.post("/assets/{asset_id}")
async def edit_asset(request: Request, asset_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, f"/assets/{asset_id}")
    require(actor, *EDITORS)
    assets.update_asset(db, actor=actor, asset_id=asset_id, data=await _asset_in(request))
    return see_other(f"/assets/{asset_id}")


@router.get("/vulnerabilities", response_class=HTMLResponse)
def vulnerabilities_page(request: Request, db: DbDep, actor: PageActor, kev: str = "") -> HTMLResponse:
    only = {"1": True, "0": False}.get(kev)
    rows = vulns.list_vulnerabilities(db, kev=only, limit=500)
    return page(request, "ui/vulnerabilities.html", {"rows": rows, "kev": kev}, actor=actor)


@router.get("/correlations", response_class=HTMLResponse)
def correlations_page(
    request: Request, db: DbDep, actor: PageActor, node: NodeDep, status: str = "active"
) -> HTMLResponse:
    if status not in queries.STATUSES:
        raise InvalidInput(
            f"status must be one of {', '.join(queries.STATUSES)}",
            kind="filter_unknown",
            params={"value": status},
        )
    rows = queries.list_correlations(db, actor=actor, status=status, limit=200, cap=node.intel.cap)
    ctx = {"rows": rows, "status": status, "statuses": queries.STATUSES}
    return page(request, "ui/correlations.html", ctx, actor=actor)
