"""Correlation, scores, assets, vulnerabilities, alerts (feed, SSE stream) and webhooks over the JSON API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor, Role
from colsec.errors import InvalidInput, TooLarge
from colsec.intel import alerts, assets, inbox, notify, queries, vulns
from colsec.intel import search as intel_search
from colsec.intel.jobs import REBUILD_KIND
from colsec.intel.schemas import AlertAssignIn, AlertCloseIn, AssetIn, AssetOut, WebhookIn
from colsec.jobs import queue as jobs_queue
from colsec.outbox.schemas import WebhookOut
from colsec.stix.tlp import TLP, TLP_BY_NAME
from colsec.web.deps import ActorDep, DbDep, read_units, require_operator, require_role
from colsec.web.node import NodeDep
from colsec.web.params import MAX_ID, CursorQuery, IdPath

router = APIRouter(prefix="/api/v1/intel", tags=["intel"])
Analyst = Annotated[Actor, Depends(require_role(Role.ANALYST, Role.COORDINATOR))]
Admin = Annotated[Actor, Depends(require_role())]
MAX_CSV = 5 * 1024 * 1024


@router.get("/correlations")
def list_correlations(
    db: DbDep,
    actor: ActorDep,
    node: NodeDep,
    status: str = "active",
    min_owners: Annotated[int, Query(ge=1, le=MAX_ID)] = 1,
    after_id: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Shared values as the caller sees them (``status=capped``: over-correlated values listed for review)."""
    rows = queries.list_correlations(
        db,
        actor=actor,
        status=status,
        min_owners=min_owners,
        after_id=after_id,
        limit=limit,
        cap=node.intel.cap,
    )
    return {"correlations": rows, "next_after_id": rows[-1]["id"] if len(rows) == limit else None}


@router.post("/correlations/rebuild", status_code=202)
def rebuild_correlations(db: DbDep, actor: Annotated[Actor, Depends(require_operator)]) -> dict[str, Any]:
    """Queue a recompute of every correlation of the node (the node operator's, not any organisation admin's).

    One rebuild at a time: asking again while one is queued or running returns that job.
    """
    job = jobs_queue.enqueue(db, kind=REBUILD_KIND, payload={}, actor=actor, dedupe_key=REBUILD_KIND)
    return {**jobs_queue.to_dict(job), "url": f"/api/v1/jobs/{job.id}"}


@router.get("/search")
def search(
    db: DbDep,
    actor: ActorDep,
    q: Annotated[str, Query(max_length=2048)] = "",
    type: Annotated[str, Query(max_length=250)] = "",
    label: Annotated[str, Query(max_length=200)] = "",
    owner: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    tlp: str = "",
    since: date | None = None,
    until: date | None = None,
    relationships: bool = False,
    cursor: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 25,
) -> dict[str, Any]:
    """Full-text search (names, descriptions, labels, ATT&CK ids, aliases, values; Russian and English
    word forms) over what the caller may see, newest first, with facet counts; ``next_cursor`` pages on."""
    level = TLP_BY_NAME.get(tlp.lower()) if tlp else None
    if tlp and level is None:
        raise InvalidInput(f"tlp: unknown level {tlp!r} (clear, green, amber, amber+strict, red)")
    query = intel_search.SearchQuery(
        value=q, type=type, label=label, owner=owner, tlp=int(level) if level is not None else None,
        since=since, until=until, relationships=relationships,
    )  # fmt: skip
    page = intel_search.search(db, actor=actor, query=query, cursor=cursor, limit=limit)
    return {
        "results": [
            {
                "id": r.id,
                "type": r.type,
                "name": page.names[r.seq],
                "value": page.values.get(r.seq, ""),
                "tlp": TLP(r.tlp).label,
                "owner_org_id": r.owner_org_id,
                "date_added": r.date_added,
            }
            for r in page.rows
        ],  # fmt: skip
        "next_cursor": page.next_cursor,
        "facets": page.facets.to_dict(),
    }


@router.get("/objects/{object_id}/related")
def related(db: DbDep, node: NodeDep, actor: ActorDep, object_id: str) -> dict[str, Any]:
    return {"related": queries.related_objects(db, actor=actor, object_id=object_id, cap=node.intel.cap)}


@router.get("/indicators/{object_id}/score")
def score(db: DbDep, actor: ActorDep, object_id: str, at: str | None = None) -> dict[str, Any]:
    return queries.indicator_score(db, actor=actor, object_id=object_id, at=at)


@router.get("/assets", response_model=list[AssetOut])
def list_assets(db: DbDep, actor: ActorDep) -> Any:
    return assets.list_assets(db, actor=actor)


@router.post("/assets", response_model=AssetOut, status_code=201)
def create_asset(db: DbDep, actor: Analyst, data: AssetIn) -> Any:
    return assets.create_asset(db, actor=actor, data=data)


@router.post("/assets/import", response_model=list[AssetOut], status_code=201)
async def import_assets(request: Request, db: DbDep, actor: Analyst) -> Any:
    """CSV body (text/csv): name, sector, criticality, ip_ranges, domains, cpes[, description, organisation]."""
    raw = await request.body()
    if len(raw) > MAX_CSV:
        raise TooLarge("CSV larger than 5 MB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("CSV must be UTF-8") from None
    return await run_in_threadpool(assets.import_assets_csv, db, actor=actor, text=text)


@router.get("/assets/{asset_id}", response_model=AssetOut)
def get_asset(db: DbDep, actor: ActorDep, asset_id: IdPath) -> Any:
    return assets.get_asset(db, actor=actor, asset_id=asset_id)


@router.put("/assets/{asset_id}", response_model=AssetOut)
def update_asset(db: DbDep, actor: Analyst, asset_id: IdPath, data: AssetIn) -> Any:
    return assets.update_asset(db, actor=actor, asset_id=asset_id, data=data)


@router.get("/assets/{asset_id}/exposure")
def asset_exposure(db: DbDep, actor: ActorDep, asset_id: IdPath) -> dict[str, Any]:
    """The alerts (CVEs and shared indicators) touching one asset, as the caller's organisation received them."""
    asset = assets.get_asset(db, actor=actor, asset_id=asset_id)
    views = alerts.list_alerts(db, org_id=actor.org_id, asset_id=asset.id, limit=200) if actor.org_id else []
    return {"asset_id": asset.id, "alerts": [v.to_dict() for v in views]}


@router.delete("/assets/{asset_id}", status_code=204)
def delete_asset(db: DbDep, actor: Analyst, asset_id: IdPath) -> None:
    assets.delete_asset(db, actor=actor, asset_id=asset_id)


@router.get("/vulnerabilities")
def list_vulnerabilities(
    db: DbDep, actor: ActorDep, kev: bool | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    """The public catalogue (KEV / NVD)."""
    rows = vulns.list_vulnerabilities(db, kev=kev, limit=limit)
    return {
        "vulnerabilities": [
            {"cve": v.cve, "kev": v.in_kev, "kev_date_added": v.kev_date_added, "vendor": v.vendor,
             "product": v.product, "name": v.name, "nvd": v.cpe_matches is not None}
            for v in rows
        ]
    }  # fmt: skip


@router.get("/alerts")
def list_alerts(
    db: DbDep,
    actor: ActorDep,
    kind: str | None = None,
    unread: bool = False,
    state: str | None = None,
    severity: str | None = None,
    asset_id: CursorQuery = None,
    before_id: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The caller's organisation's alert inbox, newest first (``state``: open, new, acknowledged,
    in_progress, closed), with the count per state."""
    if actor.org_id is None:
        return {"alerts": [], "counts": {}, "next_before_id": None}
    views = alerts.list_alerts(
        db, org_id=actor.org_id, kind=kind, unread_only=unread, state=state, severity=severity,
        asset_id=asset_id, before_id=before_id, limit=limit,
    )  # fmt: skip
    return {
        "alerts": [v.to_dict() for v in views],
        "counts": alerts.count_by_state(db, org_id=actor.org_id),
        "next_before_id": views[-1].id if len(views) == limit else None,
    }


@router.get("/alerts/stream")
async def stream_alerts(
    request: Request,
    actor: ActorDep,
    once: bool = False,
    poll: Annotated[float, Query(allow_inf_nan=False)] = 2.0,
) -> StreamingResponse:
    """Server-sent events: each new alert for the caller's organisation as an ``alert`` event.

    Resumes after ``Last-Event-ID``; ``once=true`` sends what is pending and closes.
    """
    read_unit = read_units(request)
    org_id = actor.org_id
    try:
        last = int(request.headers.get("last-event-id") or request.query_params.get("after") or 0)
        if not 0 <= last <= MAX_ID:
            raise ValueError
    except ValueError:
        raise InvalidInput("Last-Event-ID must be an alert id") from None
    interval = min(max(poll, 0.5), 30.0)

    def fetch(after: int) -> list[dict[str, Any]]:
        if org_id is None:
            return []
        with read_unit() as s:
            return [v.to_dict() for v in alerts.list_alerts(s, org_id=org_id, after_id=after, limit=100)]

    async def events() -> AsyncIterator[bytes]:
        nonlocal last
        yield b"retry: 5000\n\n"
        while True:
            for item in await run_in_threadpool(fetch, last):
                last = item["id"]
                yield b"id: %d\nevent: alert\ndata: %s\n\n" % (last, orjson.dumps(item))
            if once or await request.is_disconnected():
                return
            yield b": keep-alive\n\n"
            await asyncio.sleep(interval)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/alerts/{alert_id}")
def get_alert(db: DbDep, actor: ActorDep, alert_id: IdPath) -> dict[str, Any]:
    if actor.org_id is None:
        raise InvalidInput("alerts belong to organisations")
    return alerts.alert_for(db, org_id=actor.org_id, alert_id=alert_id).to_dict()


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge_alert(db: DbDep, actor: ActorDep, alert_id: IdPath) -> dict[str, Any]:
    """Someone has seen it: its escalation stops (new -> acknowledged)."""
    return inbox.acknowledge(db, actor=actor, alert_id=alert_id).to_dict()


@router.post("/alerts/{alert_id}/start")
def start_alert(db: DbDep, actor: ActorDep, alert_id: IdPath) -> dict[str, Any]:
    """Work on it has begun (-> in_progress); an unassigned alert goes to the caller."""
    return inbox.start(db, actor=actor, alert_id=alert_id).to_dict()


@router.post("/alerts/{alert_id}/close")
def close_alert(db: DbDep, actor: ActorDep, alert_id: IdPath, data: AlertCloseIn) -> dict[str, Any]:
    return inbox.close(db, actor=actor, alert_id=alert_id, reason=data.reason).to_dict()


@router.post("/alerts/{alert_id}/assign")
def assign_alert(db: DbDep, actor: ActorDep, alert_id: IdPath, data: AlertAssignIn) -> dict[str, Any]:
    return inbox.assign(db, actor=actor, alert_id=alert_id, username=data.assignee).to_dict()


@router.post("/alerts/{alert_id}/read", status_code=204)
def mark_read(db: DbDep, actor: ActorDep, alert_id: IdPath) -> None:
    if actor.org_id is None:
        raise InvalidInput("alerts belong to organisations")
    alerts.mark_read(db, org_id=actor.org_id, alert_id=alert_id)


@router.get("/webhooks", response_model=list[WebhookOut])
def list_webhooks(db: DbDep, actor: ActorDep) -> Any:
    return notify.list_webhooks(db, actor=actor)


@router.post("/webhooks", response_model=WebhookOut, status_code=201)
def create_webhook(db: DbDep, node: NodeDep, actor: ActorDep, data: WebhookIn) -> Any:
    return notify.create_webhook(
        db, actor=actor, url=str(data.url), secret=data.secret, outbound=node.outbound
    )


@router.delete("/webhooks/{webhook_id}", status_code=204)
def delete_webhook(db: DbDep, actor: ActorDep, webhook_id: IdPath) -> None:
    notify.delete_webhook(db, actor=actor, webhook_id=webhook_id)
