"""Incidents, crises, situation reports and lessons learned."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from colsec.crisis import service
from colsec.crisis.schemas import (
    CrisisIn,
    CrisisOut,
    EventOut,
    IncidentIn,
    IncidentOut,
    LessonIn,
    LessonOut,
    RoleIn,
    RoleOut,
    SitrepIn,
    SitrepOut,
    TransitionIn,
)
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath

router = APIRouter()


# --- incidents and crises


class CrisisTransitionIn(BaseModel):
    to: Literal["active", "stabilising", "closed", "reviewed"]
    note: str = Field(default="", max_length=5000)


# --- incidents -----------------------------------------------------------------------------


@router.post("/incidents", status_code=201, response_model=IncidentOut)
def report_incident(data: IncidentIn, db: DbDep, actor: ActorDep) -> Any:
    return service.report_incident(db, actor=actor, data=data)


@router.get("/incidents", response_model=list[IncidentOut])
def list_incidents(db: DbDep, actor: ActorDep, status: str | None = None) -> Any:
    return service.list_incidents(db, actor=actor, status=status)


@router.get("/incidents/{incident_id}", response_model=IncidentOut)
def get_incident(incident_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.get_incident(db, actor=actor, incident_id=incident_id)


@router.post("/incidents/{incident_id}/{step}", response_model=IncidentOut)
def incident_step(
    incident_id: IdPath,
    step: Literal["triage", "escalate", "close"],
    db: DbDep,
    actor: ActorDep,
    data: TransitionIn | None = None,
) -> Any:
    verb = {
        "triage": service.triage_incident,
        "escalate": service.escalate_incident,
        "close": service.close_incident,
    }[step]
    return verb(db, actor=actor, incident_id=incident_id, data=data or TransitionIn())


# --- crises --------------------------------------------------------------------------------


@router.post("/crises", status_code=201, response_model=CrisisOut)
def open_crisis(data: CrisisIn, db: DbDep, actor: ActorDep) -> Any:
    return service.open_crisis(db, actor=actor, data=data)


@router.get("/crises", response_model=list[CrisisOut])
def list_crises(db: DbDep, actor: ActorDep, status: str | None = None) -> Any:
    return service.list_crises(db, status=status)


@router.get("/crises/{crisis_id}", response_model=CrisisOut)
def get_crisis(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.get_crisis(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/transition", response_model=CrisisOut)
def crisis_transition(crisis_id: IdPath, data: CrisisTransitionIn, db: DbDep, actor: ActorDep) -> Any:
    return service.advance_crisis(db, actor=actor, crisis_id=crisis_id, to=data.to, note=data.note)


class AlertLevelIn(BaseModel):
    level: int = Field(ge=1, le=5)
    note: str = Field(default="", max_length=5000)


@router.post("/crises/{crisis_id}/alert-level", response_model=CrisisOut)
def set_alert_level(crisis_id: IdPath, data: AlertLevelIn, db: DbDep, actor: ActorDep) -> Any:
    return service.set_alert_level(db, actor=actor, crisis_id=crisis_id, level=data.level, note=data.note)


@router.get("/crises/{crisis_id}/timeline", response_model=list[EventOut])
def crisis_timeline(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.timeline(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/sitreps", status_code=201, response_model=SitrepOut)
def add_sitrep(crisis_id: IdPath, data: SitrepIn, db: DbDep, actor: ActorDep) -> Any:
    return service.add_sitrep(db, actor=actor, crisis_id=crisis_id, data=data)


@router.get("/crises/{crisis_id}/sitreps", response_model=list[SitrepOut])
def list_sitreps(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.list_sitreps(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/lessons", status_code=201, response_model=LessonOut)
def add_lesson(crisis_id: IdPath, data: LessonIn, db: DbDep, actor: ActorDep) -> Any:
    return service.add_lesson(db, actor=actor, crisis_id=crisis_id, data=data)


@router.get("/crises/{crisis_id}/lessons", response_model=list[LessonOut])
def list_lessons(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.list_lessons(db, crisis_id=crisis_id)


@router.get("/crises/{crisis_id}/roles", response_model=list[RoleOut])
def list_roles(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    service.get_crisis(db, crisis_id=crisis_id)
    return service.list_roles(db, crisis_id=crisis_id)


@router.post("/crises/{crisis_id}/roles", status_code=201, response_model=RoleOut)
def assign_role(crisis_id: IdPath, data: RoleIn, db: DbDep, actor: ActorDep) -> Any:
    """Lead, scribe or liaison: the crisis centre's coordinators assign them (as on the crisis page)."""
    return service.assign_role(db, actor=actor, crisis_id=crisis_id, username=data.username, role=data.role)


@router.delete("/crises/{crisis_id}/roles", status_code=204)
def remove_role(
    crisis_id: IdPath,
    db: DbDep,
    actor: ActorDep,
    username: Annotated[str, Query(min_length=1, max_length=80)],
    role: Annotated[Literal["lead", "scribe", "liaison"], Query()],
) -> Response:
    service.remove_role(db, actor=actor, crisis_id=crisis_id, username=username, role=role)
    return Response(status_code=204)


@router.get("/lessons", response_model=list[LessonOut])
def search_lessons(db: DbDep, actor: ActorDep, q: Annotated[str, Query(min_length=1, max_length=200)]) -> Any:
    return service.search_lessons(db, query=q)
