"""The alert inbox of the signed-in user's organisation: filter, acknowledge, assign, work, close.

Read models and verbs are ``colsec.intel.alerts`` and ``colsec.intel.inbox``; this module
parses the form and renders.  ``/alerts/events`` is the server-sent event stream that keeps
the navigation badge and an open inbox current (``static/alerts.js``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Actor
from colsec.errors import InvalidInput
from colsec.intel import alerts, inbox
from colsec.intel.models import AlertRecipient
from colsec.web.deps import DbDep, read_units
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, local_next, see_other
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

__all__ = ["badge_count", "router"]

router = APIRouter(include_in_schema=False)
PAGE = 50
FILTERS = ("open", *alerts.STATES, "all")


def badge_count(db: Session, actor: Actor | None) -> int | None:
    """The navigation badge: alerts of the organisation nobody has acknowledged yet."""
    if actor is None or actor.org_id is None:
        return None
    return alerts.new_count(db, org_id=actor.org_id)


def _last_id(db: Session, org_id: int) -> int:
    return int(
        db.execute(
            select(func.coalesce(func.max(AlertRecipient.alert_id), 0)).where(
                AlertRecipient.organisation_id == org_id
            )
        ).scalar_one()
    )


def _int(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidInput(f"{field}: expected a number")
    return int(value)


@router.get("/alerts", response_class=HTMLResponse)
def inbox_page(
    request: Request, db: DbDep, actor: PageActor, state: str = "open", severity: str = "", before: str = ""
) -> HTMLResponse:
    if state not in FILTERS:
        raise InvalidInput(
            f"state must be one of: {', '.join(FILTERS)}", kind="filter_unknown", params={"value": state}
        )
    org = actor.org_id
    rows = (
        alerts.list_alerts(
            db, org_id=org, state=None if state == "all" else state, severity=severity or None,
            before_id=_int(before, "before"), limit=PAGE,
        )
        if org is not None
        else []
    )  # fmt: skip
    counts = alerts.count_by_state(db, org_id=org) if org is not None else {}
    ctx = {
        "rows": rows,
        "state": state,
        "severity": severity,
        "severities": alerts.SEVERITIES,
        "filters": FILTERS,
        "counts": counts,
        "cap": alerts.COUNT_CAP,
        "alert_badge": counts.get("new"),
        "can_work": inbox.can_work(actor),
        "next_before": rows[-1].id if len(rows) == PAGE else None,
        "last_id": _last_id(db, org) if org is not None else 0,
    }
    template = "ui/_alert_rows.html" if request.headers.get("hx-target") == "alert-list" else "ui/alerts.html"
    return page(request, template, ctx, actor=actor)


@router.get("/alerts/events")
async def alert_events(request: Request, actor: PageActor, once: bool = False) -> StreamingResponse:
    """``badge`` events (new count, newest alert id) whenever either changes; polls every 3 s."""
    read_unit = read_units(request)
    org = actor.org_id

    def snapshot() -> tuple[int, int]:
        if org is None:
            return 0, 0
        with read_unit() as s:
            return alerts.new_count(s, org_id=org), _last_id(s, org)

    async def events() -> AsyncIterator[bytes]:
        yield b"retry: 5000\n\n"
        sent: tuple[int, int] | None = None
        while True:
            now = await run_in_threadpool(snapshot)
            if now != sent:
                sent = now
                yield b"event: badge\ndata: %s\n\n" % orjson.dumps({"new": now[0], "last": now[1]})
            if once or await request.is_disconnected():
                return
            yield b": keep-alive\n\n"
            await asyncio.sleep(3.0)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
def alert_page(request: Request, db: DbDep, actor: PageActor, alert_id: IdPath) -> HTMLResponse:
    if actor.org_id is None:
        raise InvalidInput("alerts belong to organisations", kind="alerts_need_organisation")
    view = alerts.alert_for(db, org_id=actor.org_id, alert_id=alert_id)
    ctx = {"a": view, "can_work": inbox.can_work(actor), "colleagues": inbox.colleagues(db, actor=actor)}
    return page(request, "ui/alert.html", ctx, actor=actor)


async def _back(request: Request, alert_id: int) -> Response:
    """Back to the page the button was on (the inbox or the alert), never off the alert pages."""
    nxt = field(await form_data(request), "next")
    return see_other(local_next(nxt, prefix="/alerts", default=f"/alerts/{alert_id}"))


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    await run_in_threadpool(inbox.acknowledge, db, actor=actor, alert_id=alert_id)
    return await _back(request, alert_id)


@router.post("/alerts/{alert_id}/start")
async def start(request: Request, alert_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    await run_in_threadpool(inbox.start, db, actor=actor, alert_id=alert_id)
    return await _back(request, alert_id)


@router.post("/alerts/{alert_id}/close")
async def close(request: Request, alert_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, f"/alerts/{alert_id}")
    reason = field(await form_data(request), "reason")
    await run_in_threadpool(inbox.close, db, actor=actor, alert_id=alert_id, reason=reason)
    return await _back(request, alert_id)


@router.post("/alerts/{alert_id}/assign")
async def assign(request: Request, alert_id: IdPath, db: WriteDb, actor: FormActor) -> Response:
    back_on_error(request, f"/alerts/{alert_id}")
    assignee = field(await form_data(request), "assignee")
    await run_in_threadpool(inbox.assign, db, actor=actor, alert_id=alert_id, username=assignee)
    return await _back(request, alert_id)
