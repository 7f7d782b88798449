"""Crisis workspace: crises with their timeline and sitreps, requests for assistance with the
resource board, consultations with one-click agree / object / abstain.

Every verb is the crisis domain's own (``colsec.crisis.service``), so roles,
organisation checks, state machines and audit rows are exactly the API's.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from colsec.accounts.service import organisations_by_id
from colsec.crisis import service as svc
from colsec.crisis import views
from colsec.crisis.schemas import Capability, OfferIn, PositionIn, RequestIn, SitrepIn
from colsec.errors import InvalidInput
from colsec.web.deps import DbDep
from colsec.web.params import IdPath
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/crisis", response_class=HTMLResponse)
def crisis_list(request: Request, db: DbDep, actor: PageActor) -> HTMLResponse:
    ctx = {
        "crises": svc.list_crises(db),
        "awaiting": views.awaiting_consultations(db, actor=actor),
        "consultations": svc.list_consultations(db, status="open"),
    }
    return page(request, "ui/crisis_list.html", ctx, actor=actor)


@router.get("/crisis/{crisis_id}", response_class=HTMLResponse)
def crisis_page(request: Request, db: DbDep, actor: PageActor, crisis_id: IdPath) -> HTMLResponse:
    ctx = {
        "crisis": svc.get_crisis(db, crisis_id=crisis_id),
        "events": svc.timeline(db, crisis_id=crisis_id),
        "sitreps": svc.list_sitreps(db, crisis_id=crisis_id),
        "requests": svc.list_requests(db, crisis_id=crisis_id),
        "consultations": svc.list_consultations(db, crisis_id=crisis_id),
        "capabilities": [c.value for c in Capability],
        "orgs": organisations_by_id(db),
    }
    return page(request, "ui/crisis.html", ctx, actor=actor)


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _validated(model: Any, values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"{'.'.join(str(x) for x in first['loc'])}: {first['msg']}") from None


@router.post("/crisis/{crisis_id}/sitreps")
async def add_sitrep(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    form = await form_data(request)
    due = _text(form, "next_report_due")
    body = _validated(
        SitrepIn,
        {"summary": _text(form, "summary"), "needs": _text(form, "needs"), "actions": _text(form, "actions"),
         "next_report_due": due + ":00Z" if due and len(due) == 16 else (due or None)},
    )  # fmt: skip
    svc.add_sitrep(db, actor=actor, crisis_id=crisis_id, data=body)
    return RedirectResponse(f"/crisis/{crisis_id}#sitreps", status_code=303)


@router.post("/crisis/{crisis_id}/requests")
async def create_request(request: Request, db: WriteDb, actor: FormActor, crisis_id: IdPath) -> Response:
    form = await form_data(request)
    needed = _text(form, "needed_by")
    body = _validated(
        RequestIn,
        {"capability": _text(form, "capability"), "quantity": _text(form, "quantity") or "0",
         "location": _text(form, "location"), "description": _text(form, "description"),
         "needed_by": needed + ":00Z" if len(needed) == 16 else needed},
    )  # fmt: skip
    req = svc.create_request(db, actor=actor, crisis_id=crisis_id, data=body)
    if _text(form, "submit") == "1":
        svc.submit_request(db, actor=actor, request_id=req.id)
    return RedirectResponse(f"/crisis/requests/{req.id}", status_code=303)


@router.get("/crisis/requests/{request_id}", response_class=HTMLResponse)
def resource_board(request: Request, db: DbDep, actor: PageActor, request_id: IdPath) -> HTMLResponse:
    req = svc.get_request(db, request_id=request_id)
    ctx = {
        "req": req,
        "crisis": svc.get_crisis(db, crisis_id=req.crisis_id),
        "cover": svc.coverage(db, request_id=request_id),
        "offers": svc.list_offers(db, request_id=request_id),
        "resources": {r.id: r for r in svc.list_resources(db)},
        "my_resources": svc.list_resources(db, capability=req.capability, org_id=actor.org_id),
        "next_steps": views.NEXT_OFFER_STEPS,
        "orgs": organisations_by_id(db),
    }
    return page(request, "ui/crisis_request.html", ctx, actor=actor)


@router.post("/crisis/requests/{request_id}/offers")
async def offer_resource(request: Request, db: WriteDb, actor: FormActor, request_id: IdPath) -> Response:
    form = await form_data(request)
    body = _validated(
        OfferIn,
        {"resource_id": _text(form, "resource_id") or "0", "quantity": _text(form, "quantity") or "0",
         "note": _text(form, "note")},
    )  # fmt: skip
    svc.make_offer(db, actor=actor, request_id=request_id, data=body)
    return RedirectResponse(f"/crisis/requests/{request_id}", status_code=303)


@router.post("/crisis/offers/{offer_id}/advance")
async def advance_offer(request: Request, db: WriteDb, actor: FormActor, offer_id: IdPath) -> Response:
    form = await form_data(request)
    offer = svc.advance_offer(db, actor=actor, offer_id=offer_id, to=_text(form, "to"))
    return RedirectResponse(f"/crisis/requests/{offer.request_id}", status_code=303)


@router.get("/crisis/consultations/{consultation_id}", response_class=HTMLResponse)
def consultation_page(request: Request, db: DbDep, actor: PageActor, consultation_id: IdPath) -> HTMLResponse:
    c = svc.get_consultation(db, consultation_id=consultation_id)
    positions = svc.list_positions(db, consultation_id=consultation_id)
    eligible = svc.eligible_org_ids(db, consultation_id)
    mine = next((p for p in positions if p.organisation_id == actor.org_id), None)
    ctx = {
        "c": c,
        "options": orjson.loads(c.options or "[]"),
        "positions": positions,
        "eligible": eligible,
        "mine": mine,
        "may_answer": c.status == "open" and actor.org_id in eligible and mine is None,
        "deadline": views.as_aware(c.deadline),
        "orgs": organisations_by_id(db),
    }
    return page(request, "ui/crisis_consultation.html", ctx, actor=actor)


@router.post("/crisis/consultations/{consultation_id}/position")
async def answer(request: Request, db: WriteDb, actor: FormActor, consultation_id: IdPath) -> Response:
    """One click: the button pressed carries the stance."""
    form = await form_data(request)
    body = _validated(
        PositionIn,
        {
            "stance": _text(form, "stance"),
            "option": _text(form, "option") or None,
            "comment": _text(form, "comment"),
        },
    )
    svc.post_position(db, actor=actor, consultation_id=consultation_id, data=body)
    return RedirectResponse(f"/crisis/consultations/{consultation_id}", status_code=303)
