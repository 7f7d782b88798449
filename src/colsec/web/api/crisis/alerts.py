"""CAP alerts, metrics, notifications, webhooks and the ticker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Role
from colsec.crisis import alerts, service
from colsec.crisis import notify as notices
from colsec.crisis.schemas import (
    NotificationOut,
    WebhookIn,
)
from colsec.crisis.ticker import tick
from colsec.outbox.schemas import WebhookOut
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings
from colsec.web.node import NodeDep
from colsec.web.params import IdPath, IdQuery

router = APIRouter()


# --- CAP alerts ------------------------------------------------------------------------------

CAP_MEDIA = "application/cap+xml"


class AlertOut(BaseModel):
    model_config = {"from_attributes": True}
    id: int
    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    event: str
    headline: str
    severity: str
    urgency: str
    area: str
    direction: str
    crisis_id: int | None


@router.post("/crises/{crisis_id}/alerts", status_code=201, response_class=Response)
def issue_alert(
    crisis_id: IdPath,
    request: Request,
    db: DbDep,
    actor: ActorDep,
    status: Literal["Actual", "Exercise", "Test"] = "Actual",
) -> Response:
    """Issue the crisis as a CAP 1.2 alert; the body is the XML."""
    node = get_settings(request).node_name
    xml = alerts.crisis_alert(db, actor=actor, crisis_id=crisis_id, node_name=node, status=status).xml
    return Response(xml, status_code=201, media_type=CAP_MEDIA)


@router.post("/alerts/import", status_code=201, response_model=AlertOut)
async def import_alert(request: Request, db: DbDep, actor: ActorDep, crisis_id: IdQuery = None) -> Any:
    """Import a CAP alert sent as the raw request body (XML)."""
    data = await request.body()

    return await run_in_threadpool(
        lambda: alerts.import_alert(db, actor=actor, data=data, crisis_id=crisis_id)
    )


class FeedEntryOut(BaseModel):
    model_config = {"from_attributes": True}
    entry_id: str
    title: str
    outcome: Literal["imported", "duplicate", "refused", "linked"]
    message: str
    alert_id: int | None


@router.post("/alerts/import-feed", response_model=list[FeedEntryOut])
async def import_feed(request: Request, db: DbDep, actor: ActorDep, crisis_id: IdQuery = None) -> Any:
    """Import the inline alerts of an Atom/RSS feed (raw XML body), each on its own: one entry per result."""
    data = await request.body()
    return await run_in_threadpool(
        lambda: alerts.import_feed(db, actor=actor, data=data, crisis_id=crisis_id)
    )


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(db: DbDep, actor: ActorDep, crisis_id: IdQuery = None) -> Any:
    return alerts.list_alerts(db, crisis_id=crisis_id)


@router.get("/alerts/{alert_id}", response_class=Response)
def get_alert(alert_id: IdPath, db: DbDep, actor: ActorDep) -> Response:
    return Response(alerts.get_alert(db, alert_id=alert_id).xml, media_type=CAP_MEDIA)


# --- metrics, notifications, webhooks, ticker -------------------------------------------------


@router.get("/metrics")
def metrics(
    db: DbDep, actor: ActorDep, crisis_id: IdQuery = None, since: datetime | None = None
) -> dict[str, Any]:
    """``since`` (requests submitted from then on; a time without zone is UTC) gives a recent period."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return service.crisis_metrics(db, crisis_id=crisis_id, since=since)


@router.get("/notifications", response_model=list[NotificationOut])
def my_notifications(db: DbDep, actor: ActorDep, unread: bool = False) -> Any:
    return notices.my_notifications(db, user_id=actor.user_id, unread_only=unread)


@router.post("/notifications/{notification_id}/read", status_code=204)
def mark_read(notification_id: IdPath, db: DbDep, actor: ActorDep) -> Response:
    notices.mark_read(db, user_id=actor.user_id, notification_id=notification_id)
    return Response(status_code=204)


@router.post("/webhooks", status_code=201, response_model=WebhookOut)
def register_webhook(data: WebhookIn, db: DbDep, node: NodeDep, actor: ActorDep) -> Any:
    return notices.register_webhook(db, actor=actor, url=data.url, secret=data.secret, outbound=node.outbound)


@router.post("/tick")
def run_tick(request: Request, actor: ActorDep) -> dict[str, Any]:
    """Close due consultations and send reminders now (coordinators); the outbox delivers them."""
    from colsec.crisis.access import require_role

    require_role(actor, Role.COORDINATOR, doing="run the crisis ticker")
    return tick(get_database(request), get_settings(request)).to_dict()
