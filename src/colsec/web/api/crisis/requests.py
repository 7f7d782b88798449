"""Requests for assistance, consultations, delegation, resources and offers."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from sqlalchemy.orm import Session

from colsec.crisis import service
from colsec.crisis.models import Consultation
from colsec.crisis.schemas import (
    ConsultationIn,
    ConsultationOut,
    DelegationIn,
    OfferIn,
    OfferOut,
    PositionIn,
    PositionOut,
    RequestIn,
    RequestOut,
    ResourceIn,
    ResourceOut,
    TransitionIn,
)
from colsec.web.deps import ActorDep, DbDep
from colsec.web.params import IdPath, IdQuery

router = APIRouter()


# --- requests, consultations ---------------------------------------------------------------


@router.post("/crises/{crisis_id}/requests", status_code=201, response_model=RequestOut)
def create_request(crisis_id: IdPath, data: RequestIn, db: DbDep, actor: ActorDep) -> Any:
    return service.create_request(db, actor=actor, crisis_id=crisis_id, data=data)


@router.get("/requests", response_model=list[RequestOut])
def list_requests(db: DbDep, actor: ActorDep, crisis_id: IdQuery = None, status: str | None = None) -> Any:
    return service.list_requests(db, crisis_id=crisis_id, status=status)


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.get_request(db, request_id=request_id)


@router.post("/requests/{request_id}/submit", response_model=RequestOut)
def submit_request(request_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.submit_request(db, actor=actor, request_id=request_id)


@router.post("/requests/{request_id}/withdraw", response_model=RequestOut)
def withdraw_request(request_id: IdPath, db: DbDep, actor: ActorDep, data: TransitionIn | None = None) -> Any:
    return service.withdraw_request(
        db, actor=actor, request_id=request_id, note=(data or TransitionIn()).note
    )


@router.get("/crises/{crisis_id}/coverage")
def crisis_coverage(crisis_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Which needs of the crisis are covered and what is still missing."""
    service.get_crisis(db, crisis_id=crisis_id)
    return service.crisis_coverage(db, crisis_id=crisis_id)


@router.get("/requests/{request_id}/coverage")
def request_coverage(request_id: IdPath, db: DbDep, actor: ActorDep) -> dict[str, Any]:
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
def open_consultation(request_id: IdPath, data: ConsultationIn, db: DbDep, actor: ActorDep) -> Any:
    return _consultation_out(db, service.open_consultation(db, actor=actor, request_id=request_id, data=data))


@router.get("/consultations", response_model=list[ConsultationOut])
def list_consultations(
    db: DbDep, actor: ActorDep, crisis_id: IdQuery = None, status: str | None = None
) -> Any:
    return [
        _consultation_out(db, c) for c in service.list_consultations(db, crisis_id=crisis_id, status=status)
    ]


@router.get("/consultations/{consultation_id}", response_model=ConsultationOut)
def get_consultation(consultation_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return _consultation_out(db, service.get_consultation(db, consultation_id=consultation_id))


@router.post(
    "/consultations/{consultation_id}/positions",
    status_code=201,
    response_model=PositionOut,
)
def post_position(consultation_id: IdPath, data: PositionIn, db: DbDep, actor: ActorDep) -> Any:
    return service.post_position(db, actor=actor, consultation_id=consultation_id, data=data)


@router.post("/consultations/{consultation_id}/delegations", status_code=201)
def delegate(consultation_id: IdPath, data: DelegationIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    d = service.delegate(
        db, actor=actor, consultation_id=consultation_id, delegate_username=data.delegate_username
    )
    return {
        "consultation_id": d.consultation_id,
        "organisation_id": d.organisation_id,
        "delegate_user_id": d.delegate_user_id,
    }


# --- resources and offers ------------------------------------------------------------------


@router.post("/resources", status_code=201, response_model=ResourceOut)
def register_resource(data: ResourceIn, db: DbDep, actor: ActorDep) -> Any:
    return service.register_resource(db, actor=actor, data=data)


@router.get("/resources", response_model=list[ResourceOut])
def list_resources(
    db: DbDep, actor: ActorDep, capability: str | None = None, organisation_id: IdQuery = None
) -> Any:
    return service.list_resources(db, capability=capability, org_id=organisation_id)


@router.post("/requests/{request_id}/offers", status_code=201, response_model=OfferOut)
def make_offer(request_id: IdPath, data: OfferIn, db: DbDep, actor: ActorDep) -> Any:
    return service.make_offer(db, actor=actor, request_id=request_id, data=data)


@router.get("/requests/{request_id}/offers", response_model=list[OfferOut])
def list_offers(request_id: IdPath, db: DbDep, actor: ActorDep) -> Any:
    return service.list_offers(db, request_id=request_id)


@router.post("/offers/{offer_id}/{to}", response_model=OfferOut)
def offer_step(
    offer_id: IdPath,
    to: Literal["accepted", "declined", "committed", "deployed", "demobilised"],
    db: DbDep,
    actor: ActorDep,
) -> Any:
    return service.advance_offer(db, actor=actor, offer_id=offer_id, to=to)
