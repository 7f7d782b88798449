"""Requests for assistance in the crisis workspace: the resource board, offers and consultations.

A request is where members meet a need: the board matches it against registered resources,
offers move through their own states, and a consultation asks the eligible members to decide
with one-click answers.  Apart from ``crisis.py`` (incidents, crises and their timeline) because
these pages follow a request, not a crisis; the verbs and checks are the crisis domain's own, as
there.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from colsec.accounts.service import organisations_by_id
from colsec.crisis import service as svc
from colsec.crisis import views
from colsec.crisis.schemas import (
    ConsultationIn,
    OfferIn,
    PositionIn,
)
from colsec.web.deps import DbDep
from colsec.web.params import IdPath
from colsec.web.ui.forms import back_on_error, field, see_other, validated, when
from colsec.web.ui.render import FormActor, PageActor, WriteDb, form_data, page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


# --- requests, resources and offers --------------------------------------------------------------


@router.get("/crisis/requests/{request_id}", response_class=HTMLResponse)
def resource_board(request: Request, db: DbDep, actor: PageActor, request_id: IdPath) -> HTMLResponse:
    req = svc.get_request(db, request_id=request_id)
    perms = views.permissions(db, actor)
    offers = svc.list_offers(db, request_id=request_id)
    ctx = {
        "req": req,
        "perms": perms,
        "own": actor.org_id == req.organisation_id,
        "crisis": svc.get_crisis(db, crisis_id=req.crisis_id),
        "cover": svc.coverage(db, request_id=request_id),
        "offers": [(o, views.offer_steps(db, actor, o)) for o in offers],
        "resources": {r.id: r for r in svc.list_resources(db)},
        "my_resources": svc.list_resources(db, capability=req.capability, org_id=actor.org_id),
        "consultations": [
            c for c in svc.list_consultations(db, crisis_id=req.crisis_id) if c.request_id == req.id
        ],
        "orgs": organisations_by_id(db),
    }
    return page(request, "ui/crisis_request.html", ctx, actor=actor)


@router.post("/crisis/requests/{request_id}/submit")
async def submit_request(request: Request, db: WriteDb, actor: FormActor, request_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/requests/{request_id}")
    svc.submit_request(db, actor=actor, request_id=request_id)
    return see_other(f"/crisis/requests/{request_id}")


@router.post("/crisis/requests/{request_id}/withdraw")
async def withdraw_request(request: Request, db: WriteDb, actor: FormActor, request_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/requests/{request_id}")
    form = await form_data(request)
    svc.withdraw_request(db, actor=actor, request_id=request_id, note=field(form, "note"))
    return see_other(f"/crisis/requests/{request_id}")


@router.post("/crisis/requests/{request_id}/consultation")
async def open_consultation(request: Request, db: WriteDb, actor: FormActor, request_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/requests/{request_id}")
    form = await form_data(request)
    options = [o.strip() for o in field(form, "options").splitlines() if o.strip()]
    body = validated(
        ConsultationIn,
        {"question": field(form, "question"), "options": options, "rule": field(form, "rule") or "consensus",
         "quorum": field(form, "quorum") or None, "deadline": when(field(form, "deadline")),
         "eligible_org_ids": [v for v in form.getlist("eligible") if isinstance(v, str)] or None},
    )  # fmt: skip
    c = svc.open_consultation(db, actor=actor, request_id=request_id, data=body)
    return see_other(f"/crisis/consultations/{c.id}")


@router.post("/crisis/requests/{request_id}/offers")
async def offer_resource(request: Request, db: WriteDb, actor: FormActor, request_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/requests/{request_id}")
    form = await form_data(request)
    body = validated(
        OfferIn,
        {"resource_id": field(form, "resource_id") or "0", "quantity": field(form, "quantity") or "0",
         "note": field(form, "note")},
    )  # fmt: skip
    svc.make_offer(db, actor=actor, request_id=request_id, data=body)
    return see_other(f"/crisis/requests/{request_id}")


@router.post("/crisis/offers/{offer_id}/advance")
async def advance_offer(request: Request, db: WriteDb, actor: FormActor, offer_id: IdPath) -> Response:
    form = await form_data(request)
    offer = svc.advance_offer(db, actor=actor, offer_id=offer_id, to=field(form, "to"))
    return see_other(f"/crisis/requests/{offer.request_id}")


# --- consultations -------------------------------------------------------------------------------


@router.get("/crisis/consultations/{consultation_id}", response_class=HTMLResponse)
def consultation_page(request: Request, db: DbDep, actor: PageActor, consultation_id: IdPath) -> HTMLResponse:
    c = svc.get_consultation(db, consultation_id=consultation_id)
    ctx = {
        "c": c,
        "options": orjson.loads(c.options or "[]"),
        "eligible": svc.eligible_org_ids(db, consultation_id),
        "deadline": views.as_aware(c.deadline),
        "orgs": organisations_by_id(db),
        **views.consultation_view(db, actor, c),
    }
    return page(request, "ui/crisis_consultation.html", ctx, actor=actor)


@router.post("/crisis/consultations/{consultation_id}/position")
async def answer(request: Request, db: WriteDb, actor: FormActor, consultation_id: IdPath) -> Response:
    """One click: the button pressed carries the stance."""
    back_on_error(request, f"/crisis/consultations/{consultation_id}")
    form = await form_data(request)
    body = validated(
        PositionIn,
        {"stance": field(form, "stance"), "option": field(form, "option") or None,
         "comment": field(form, "comment"), "on_behalf_of": field(form, "on_behalf_of") or None},
    )  # fmt: skip
    svc.post_position(db, actor=actor, consultation_id=consultation_id, data=body)
    return see_other(f"/crisis/consultations/{consultation_id}")


@router.post("/crisis/consultations/{consultation_id}/delegate")
async def delegate(request: Request, db: WriteDb, actor: FormActor, consultation_id: IdPath) -> Response:
    back_on_error(request, f"/crisis/consultations/{consultation_id}")
    form = await form_data(request)
    svc.delegate(db, actor=actor, consultation_id=consultation_id, delegate_username=field(form, "username"))
    return see_other(f"/crisis/consultations/{consultation_id}")
