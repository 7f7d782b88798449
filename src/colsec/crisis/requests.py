"""Requests for assistance: drafted → submitted → in consultation → approved | rejected | withdrawn.

An affected member drafts and submits; the crisis centre puts it to a consultation;
the consultation's decision moves it on (see ``consultation``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import NATIONAL_ROLES, org_kind, require_org, require_role
from colsec.crisis.crises import get_crisis, log_event
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.models import AssistanceRequest
from colsec.crisis.schemas import RequestIn
from colsec.crisis.states import REQUEST, aware, move, now
from colsec.errors import InvalidInput, NotFound
from colsec.store import audit

__all__ = ["create_request", "get_request", "list_requests", "submit_request", "withdraw_request"]


def create_request(db: Session, *, actor: Actor, crisis_id: int, data: RequestIn) -> AssistanceRequest:
    """Draft a request; only member organisations ask for assistance."""
    require_role(actor, *NATIONAL_ROLES, doing="draft requests for assistance")
    if actor.org_id is None or org_kind(db, actor.org_id) != "member":
        raise InvalidInput(
            "requests for assistance come from a member organisation", kind="request_needs_organisation"
        )
    crisis = get_crisis(db, crisis_id=crisis_id)
    if crisis.status not in ("opened", "active", "stabilising"):
        raise InvalidTransition(
            f"crisis {crisis_id} is '{crisis.status}': no new requests", kind="crisis_no_new_requests"
        )
    if aware(data.needed_by) <= now():  # its consultation would close at once, deciding nothing
        raise InvalidInput(
            f"needed by {aware(data.needed_by):%Y-%m-%d %H:%M} UTC is not in the future: "
            "give the time the help is still needed by",
            kind="needed_by_not_future",
            params={"needed_by": aware(data.needed_by)},
        )
    req = AssistanceRequest(
        crisis_id=crisis_id, organisation_id=actor.org_id, created_by=actor.username,
        capability=data.capability.value, quantity=data.quantity, location=data.location,
        needed_by=data.needed_by, description=data.description, status="drafted", drafted_at=now(),
    )  # fmt: skip
    db.add(req)
    db.flush()
    log_event(db, crisis_id=crisis_id, actor=actor, kind="request.drafted",
              summary=f"request {req.id} drafted: {req.quantity} x {req.capability} at {req.location}",
              params={"request": req.id, "quantity": req.quantity, "capability": req.capability,
                      "location": req.location})  # fmt: skip
    audit.record(
        db,
        actor=actor,
        action="crisis.request.draft",
        target=f"request:{req.id}",
        details={"crisis": crisis_id},
    )
    return req


def get_request(db: Session, *, request_id: int) -> AssistanceRequest:
    req = db.get(AssistanceRequest, request_id)
    if req is None:
        raise NotFound(
            f"request {request_id} not found", kind="request_not_found", params={"request": request_id}
        )
    return req


def list_requests(
    db: Session, *, crisis_id: int | None = None, status: str | None = None
) -> list[AssistanceRequest]:
    stmt = select(AssistanceRequest).order_by(AssistanceRequest.id)
    if crisis_id is not None:
        stmt = stmt.where(AssistanceRequest.crisis_id == crisis_id)
    else:  # across crises: real ones only (an exercise crisis lists its own)
        stmt = stmt.where(AssistanceRequest.exercise_run_id.is_(None))
    if status:
        stmt = stmt.where(AssistanceRequest.status == status)
    return list(db.execute(stmt).scalars())


def submit_request(db: Session, *, actor: Actor, request_id: int) -> AssistanceRequest:
    req = get_request(db, request_id=request_id)
    require_role(actor, Role.REPRESENTATIVE, doing="submit requests for assistance")
    require_org(actor, req.organisation_id, doing="submit this request")
    req = move(
        db, AssistanceRequest, request_id, machine=REQUEST, to="submitted", label=f"request {request_id}"
    )
    log_event(db, crisis_id=req.crisis_id, actor=actor, kind="request.submitted",
              summary=f"request {req.id}: {req.quantity} x {req.capability} at {req.location}",
              params={"request": req.id, "quantity": req.quantity, "capability": req.capability,
                      "location": req.location})  # fmt: skip
    audit.record(db, actor=actor, action="crisis.request.submit", target=f"request:{req.id}")
    notices.notify(
        db, kind="request.submitted",
        subject=notices.Text(
            "Request #%(id)s for assistance: %(quantity)s x %(capability)s (%(org)s)",
            {"id": req.id, "quantity": req.quantity, "capability": notices.capability_text(req.capability),
             "org": actor.org_short_name},
        ),
        body=notices.Text("Open a consultation of the members on it."), target=f"request:{req.id}",
        user_ids=notices.recipients(db, roles=[Role.COORDINATOR], centre=True),
    )  # fmt: skip
    return req


def withdraw_request(db: Session, *, actor: Actor, request_id: int, note: str = "") -> AssistanceRequest:
    req = get_request(db, request_id=request_id)
    require_role(actor, Role.REPRESENTATIVE, doing="withdraw requests for assistance")
    require_org(actor, req.organisation_id, doing="withdraw this request")
    req = move(
        db, AssistanceRequest, request_id, machine=REQUEST, to="withdrawn", label=f"request {request_id}"
    )
    from colsec.crisis.deadlines import cancel_for_request

    cancelled = cancel_for_request(db, actor=actor, request_id=request_id)
    log_event(
        db,
        crisis_id=req.crisis_id,
        actor=actor,
        kind="request.withdrawn",
        summary=f"request {req.id} withdrawn {note}".strip(),
        params={"request": req.id, "note": note, "cancelled": cancelled},
    )
    audit.record(
        db, actor=actor, action="crisis.request.withdraw", target=f"request:{req.id}", details={"note": note}
    )
    return req
