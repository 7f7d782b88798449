"""Crisis response over the JSON API: thin routes onto ``colsec.crisis.service``.

Routes that change state run their own unit of work (``_run``) and deliver queued
e-mail/webhook notifications after it committed; the ticker picks up anything a crashed
process left behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from colsec.accounts.roles import Role
from colsec.crisis import alerts, service
from colsec.crisis import notify as notices
from colsec.crisis.models import Consultation
from colsec.crisis.notify import deliver_pending
from colsec.crisis.schemas import (
    ConsultationIn,
    ConsultationOut,
    CrisisIn,
    CrisisOut,
    DelegationIn,
    EventOut,
    IncidentIn,
    IncidentOut,
    LessonIn,
    LessonOut,
    NotificationOut,
    OfferIn,
    OfferOut,
    PositionIn,
    PositionOut,
    RequestIn,
    RequestOut,
    ResourceIn,
    ResourceOut,
    SitrepIn,
    SitrepOut,
    TransitionIn,
    WebhookIn,
    WebhookOut,
)
from colsec.crisis.ticker import TICK_SECONDS, tick
from colsec.errors import Forbidden
from colsec.web.deps import ActorDep, DbDep, get_database, get_settings


def _people_only(actor: ActorDep) -> None:
    """Sync accounts (role ``peer``) exchange intelligence over TAXII; crisis work is for people."""
    if actor.role == Role.PEER:
        raise Forbidden("peer (sync) accounts have no access to crisis response")


router = APIRouter(prefix="/api/v1/crisis", tags=["crisis"], dependencies=[Depends(_people_only)])
T = TypeVar("T")
log = logging.getLogger(__name__)


def _run(request: Request, work: Callable[[Session], T]) -> T:
    """One unit of work begun and committed in the same worker thread, then delivery.

    Holding a write transaction across FastAPI's threadpool hops (endpoint, then the
    session dependency's teardown) lets 40 waiting writers starve the one that must
    commit; here the transaction never outlives this call.
    """
    database = get_database(request)
    with database.unit_of_work() as db:
        result = work(db)
    deliver_pending(database, get_settings(request))
    return result


class CrisisTransitionIn(BaseModel):
    to: Literal["active", "stabilising", "closed", "reviewed"]
    note: str = Field(default="", max_length=5000)


# --- incidents -----------------------------------------------------------------------------


@router.post("/incidents", status_code=201, response_model=IncidentOut)
def report_incident(data: IncidentIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.report_incident(db, actor=actor, data=data)

    return _run(request, work)


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(db: DbDep, actor: ActorDep, status: str | None = None) -> Any:
    return service.list_incidents(db, actor=actor, status=status)


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_incident(db, actor=actor, incident_id=incident_id)


@router.post("/incidents/{incident_id}/{step}", response_model=IncidentOut)
def incident_step(
    incident_id: int,
    step: Literal["triage", "escalate", "close"],
    request: Request,
    actor: ActorDep,
    data: TransitionIn | None = None,
) -> Any:
    def work(db: Session) -> Any:
        verb = {
            "triage": service.triage_incident,
            "escalate": service.escalate_incident,
            "close": service.close_incident,
        }[step]
        return verb(db, actor=actor, incident_id=incident_id, data=data or TransitionIn())

    return _run(request, work)


# --- crises --------------------------------------------------------------------------------


@router.post("/crises", status_code=201, response_model=CrisisOut)
def open_crisis(data: CrisisIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.open_crisis(db, actor=actor, data=data)

    return _run(request, work)


@router.get("/crises", response_model=list[CrisisOut])
def list_crises(db: DbDep, actor: ActorDep, status: str | None = None) -> Any:
    return service.list_crises(db, status=status)


@router.get("/crises/{crisis_id}", response_model=CrisisOut)
def get_crisis(crisis_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_crisis(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/transition", response_model=CrisisOut)
def crisis_transition(crisis_id: int, data: CrisisTransitionIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.advance_crisis(db, actor=actor, crisis_id=crisis_id, to=data.to, note=data.note)

    return _run(request, work)


class AlertLevelIn(BaseModel):
    level: int = Field(ge=1, le=5)
    note: str = Field(default="", max_length=5000)


@router.post("/crises/{crisis_id}/alert-level", response_model=CrisisOut)
def set_alert_level(crisis_id: int, data: AlertLevelIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.set_alert_level(db, actor=actor, crisis_id=crisis_id, level=data.level, note=data.note)

    return _run(request, work)


@router.get("/crises/{crisis_id}/timeline", response_model=list[EventOut])
def crisis_timeline(crisis_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.timeline(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/sitreps", status_code=201, response_model=SitrepOut)
def add_sitrep(crisis_id: int, data: SitrepIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.add_sitrep(db, actor=actor, crisis_id=crisis_id, data=data)

    return _run(request, work)


@router.get("/crises/{crisis_id}/sitreps", response_model=list[SitrepOut])
def list_sitreps(crisis_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.list_sitreps(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/lessons", status_code=201, response_model=LessonOut)
def add_lesson(crisis_id: int, data: LessonIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.add_lesson(db, actor=actor, crisis_id=crisis_id, data=data)

    return _run(request, work)


@router.get("/crises/{crisis_id}/lessons", response_model=list[LessonOut])
def list_lessons(crisis_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.list_lessons(db, crisis_id=crisis_id)


@router.get("/lessons", response_model=list[LessonOut])
def search_lessons(db: DbDep, actor: ActorDep, q: Annotated[str, Query(min_length=1, max_length=200)]) -> Any:
    return service.search_lessons(db, query=q)


# --- requests, consultations ---------------------------------------------------------------


@router.post("/crises/{crisis_id}/requests", status_code=201, response_model=RequestOut)
def create_request(crisis_id: int, data: RequestIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.create_request(db, actor=actor, crisis_id=crisis_id, data=data)

    return _run(request, work)


@router.get("/requests", response_model=list[RequestOut])
def list_requests(db: DbDep, actor: ActorDep, crisis_id: int | None = None, status: str | None = None) -> Any:
    return service.list_requests(db, crisis_id=crisis_id, status=status)


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.get_request(db, request_id=request_id)


@router.post("/requests/{request_id}/submit", response_model=RequestOut)
def submit_request(request_id: int, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.submit_request(db, actor=actor, request_id=request_id)

    return _run(request, work)


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut)
def withdraw_request(
    request_id: int, request: Request, actor: ActorDep, data: TransitionIn | None = None
) -> Any:
    def work(db: Session) -> Any:
        return service.withdraw_request(
            db, actor=actor, request_id=request_id, note=(data or TransitionIn()).note
        )

    return _run(request, work)


@router.get("/crises/{crisis_id}/coverage")
def crisis_coverage(crisis_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Which needs of the crisis are covered and what is still missing."""
    service.get_crisis(db, crisis_id=crisis_id)
    return service.crisis_coverage(db, crisis_id=crisis_id)


@router.get("/requests/{request_id}/coverage")
def request_coverage(request_id: int, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    return service.coverage(db, request_id=request_id).to_dict()


def _consultation_out(db: Session, c: Consultation) -> ConsultationOut:
    out = ConsultationOut.model_validate(c)
    out.eligible_org_ids = service.eligible_org_ids(db, c.id)
    out.positions = [PositionOut.model_validate(p) for p in service.list_positions(db, consultation_id=c.id)]
    return out


@router.post(
    "/requests/{request_id}/consultations",
    status_code=201,
    response_model=ConsultationOut,
)
def open_consultation(request_id: int, data: ConsultationIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return _consultation_out(
            db, service.open_consultation(db, actor=actor, request_id=request_id, data=data)
        )

    return _run(request, work)


@router.get("/consultations", response_model=list[ConsultationOut])
def list_consultations(
    db: DbDep, actor: ActorDep, crisis_id: int | None = None, status: str | None = None
) -> Any:
    return [
        _consultation_out(db, c) for c in service.list_consultations(db, crisis_id=crisis_id, status=status)
    ]


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut)
def get_consultation(consultation_id: int, db: DbDep, actor: ActorDep) -> Any:
    return _consultation_out(db, service.get_consultation(db, consultation_id=consultation_id))


@router.post(
    "/consultations/{consultation_id}/positions",
    status_code=201,
    response_model=PositionOut,
)
def post_position(consultation_id: int, data: PositionIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.post_position(db, actor=actor, consultation_id=consultation_id, data=data)

    return _run(request, work)


@router.post("/consultations/{consultation_id}/delegations", status_code=201)
def delegate(consultation_id: int, data: DelegationIn, request: Request, actor: ActorDep) -> dict[str, Any]:
    def work(db: Session) -> Any:
        d = service.delegate(
            db, actor=actor, consultation_id=consultation_id, delegate_username=data.delegate_username
        )
        return {
            "consultation_id": d.consultation_id,
            "organisation_id": d.organisation_id,
            "delegate_user_id": d.delegate_user_id,
        }

    # --- resources and offers ------------------------------------------------------------------

    return _run(request, work)


@router.post("/resources", status_code=201, response_model=ResourceOut)
def register_resource(data: ResourceIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.register_resource(db, actor=actor, data=data)

    return _run(request, work)


@router.get("/resources", response_model=list[ResourceOut])
def list_resources(
    db: DbDep, actor: ActorDep, capability: str | None = None, organisation_id: int | None = None
) -> Any:
    return service.list_resources(db, capability=capability, org_id=organisation_id)


@router.post("/requests/{request_id}/offers", status_code=201, response_model=OfferOut)
def make_offer(request_id: int, data: OfferIn, request: Request, actor: ActorDep) -> Any:
    def work(db: Session) -> Any:
        return service.make_offer(db, actor=actor, request_id=request_id, data=data)

    return _run(request, work)


@router.get("/requests/{request_id}/offers", response_model=list[OfferOut])
def list_offers(request_id: int, db: DbDep, actor: ActorDep) -> Any:
    return service.list_offers(db, request_id=request_id)


@router.post("/offers/{offer_id}/{to}", response_model=OfferOut)
def offer_step(
    offer_id: int,
    to: Literal["accepted", "declined", "committed", "deployed", "demobilised"],
    request: Request,
    actor: ActorDep,
) -> Any:
    def work(db: Session) -> Any:
        return service.advance_offer(db, actor=actor, offer_id=offer_id, to=to)

    return _run(request, work)


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
    crisis_id: int,
    request: Request,
    actor: ActorDep,
    status: Literal["Actual", "Exercise", "Test"] = "Actual",
) -> Response:
    """Issue the crisis as a CAP 1.2 alert; the body is the XML."""
    node = get_settings(request).node_name

    def work(db: Session) -> str:
        return alerts.crisis_alert(db, actor=actor, crisis_id=crisis_id, node_name=node, status=status).xml

    return Response(_run(request, work), status_code=201, media_type=CAP_MEDIA)


@router.post("/alerts/import", status_code=201, response_model=AlertOut)
async def import_alert(request: Request, actor: ActorDep, crisis_id: int | None = None) -> Any:
    """Import a CAP alert sent as the raw request body (XML)."""
    data = await request.body()

    def work(db: Session) -> Any:
        return alerts.import_alert(db, actor=actor, data=data, crisis_id=crisis_id)

    return await run_in_threadpool(_run, request, work)


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(db: DbDep, actor: ActorDep, crisis_id: int | None = None) -> Any:
    return alerts.list_alerts(db, crisis_id=crisis_id)


@router.get("/alerts/{alert_id}", response_class=Response)
def get_alert(alert_id: int, db: DbDep, actor: ActorDep) -> Response:
    return Response(alerts.get_alert(db, alert_id=alert_id).xml, media_type=CAP_MEDIA)


# --- metrics, notifications, webhooks, ticker -------------------------------------------------


@router.get("/metrics")
def metrics(db: DbDep, actor: ActorDep, crisis_id: int | None = None) -> dict[str, Any]:
    return service.crisis_metrics(db, crisis_id=crisis_id)


@router.get("/notifications", response_model=list[NotificationOut])
def my_notifications(db: DbDep, actor: ActorDep, unread: bool = False) -> Any:
    return notices.my_notifications(db, user_id=actor.user_id, unread_only=unread)


@router.post("/notifications/{notification_id}/read", status_code=204)
def mark_read(notification_id: int, request: Request, actor: ActorDep) -> Response:
    with get_database(request).unit_of_work() as db:
        notices.mark_read(db, user_id=actor.user_id, notification_id=notification_id)
    return Response(status_code=204)


@router.post("/webhooks", status_code=201, response_model=WebhookOut)
def register_webhook(data: WebhookIn, request: Request, actor: ActorDep) -> Any:
    allow = get_settings(request).allow_private_peers
    with get_database(request).unit_of_work() as db:
        return notices.register_webhook(
            db, actor=actor, url=data.url, secret=data.secret, allow_private=allow
        )


@router.post("/tick")
def run_tick(request: Request, actor: ActorDep) -> dict[str, Any]:
    """Close due consultations, send reminders and deliver notifications now (coordinators)."""
    from colsec.crisis.access import require_role

    require_role(actor, Role.COORDINATOR, doing="run the crisis ticker")
    return tick(get_database(request), get_settings(request)).to_dict()


__all__ = ["install", "router"]


def install(app: FastAPI) -> None:
    """Mount the router; a node that owns its database also runs the crisis ticker.

    The ticker closes consultations at their deadline, sends reminders and retries
    deliveries every ``TICK_SECONDS`` in a worker thread.  An app built around an
    injected database (tests, embedding) has ``state.database`` already and calls
    ``tick`` itself.
    """
    app.include_router(router)
    if getattr(app.state, "database", None) is not None:
        return

    async def loop() -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            try:
                await run_in_threadpool(tick, app.state.database, app.state.settings)
            except Exception:  # one failed tick must not stop the next
                log.exception("crisis ticker failed")

    async def start(app: FastAPI) -> None:
        app.state.crisis_ticker = asyncio.create_task(loop())

    async def stop(app: FastAPI) -> None:
        task = getattr(app.state, "crisis_ticker", None)
        if task is not None:
            task.cancel()

    app.state.startup_hooks.append(start)
    app.state.shutdown_hooks.append(stop)
