"""Resource catalogue and offers: offered → accepted → committed → deployed → demobilised.

Members register teams and equipment; against an approved request they offer them;
the crisis centre accepts (or declines); the offering member commits and deploys;
``coverage`` tells the coordinator which needs are covered and what is missing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import NATIONAL_ROLES, org_kind, require_centre, require_org, require_role
from colsec.crisis.crises import log_event
from colsec.crisis.errors import InvalidTransition
from colsec.crisis.models import AssistanceRequest, Resource, ResourceOffer
from colsec.crisis.requests import get_request
from colsec.crisis.schemas import OfferIn, ResourceIn
from colsec.crisis.states import OFFER, move, now
from colsec.errors import Forbidden, InvalidInput, NotFound
from colsec.outbox.text import N_
from colsec.store import audit

__all__ = [
    "COVERING",
    "Coverage",
    "advance_offer",
    "check_offer_step",
    "coverage",
    "crisis_coverage",
    "get_offer",
    "list_offers",
    "list_resources",
    "make_offer",
    "register_resource",
]

COVERING = ("accepted", "committed", "deployed", "demobilised")
# who moves an offer to each state: the crisis centre, or the offering member
_CENTRE_STEPS = {"accepted", "declined"}
_MEMBER_STEPS = {"committed", "deployed", "demobilised"}


def register_resource(db: Session, *, actor: Actor, data: ResourceIn) -> Resource:
    require_role(actor, *NATIONAL_ROLES, doing="register resources")
    if actor.org_id is None or org_kind(db, actor.org_id) != "member":
        raise InvalidInput(
            "resources are registered by member organisations", kind="resource_needs_organisation"
        )
    res = Resource(
        organisation_id=actor.org_id, kind=data.kind, name=data.name, capability=data.capability.value,
        size=data.size, readiness_hours=data.readiness_hours, location=data.location, created_at=now(),
    )  # fmt: skip
    db.add(res)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="crisis.resource.register",
        target=f"resource:{res.id}",
        details={"capability": res.capability, "size": res.size},
    )
    return res


def list_resources(
    db: Session, *, capability: str | None = None, org_id: int | None = None
) -> list[Resource]:
    stmt = select(Resource).order_by(Resource.readiness_hours, Resource.id)
    if capability:
        stmt = stmt.where(Resource.capability == capability)
    if org_id is not None:
        stmt = stmt.where(Resource.organisation_id == org_id)
    return list(db.execute(stmt).scalars())


def make_offer(db: Session, *, actor: Actor, request_id: int, data: OfferIn) -> ResourceOffer:
    """A member offers one of its own resources against an approved request."""
    require_role(actor, Role.REPRESENTATIVE, doing="offer resources")
    req = get_request(db, request_id=request_id)
    if req.status != "approved":
        raise InvalidTransition(
            f"request {req.id} is '{req.status}': offers are made against approved requests",
            kind="offer_needs_approved_request",
        )
    res = db.get(Resource, data.resource_id)
    if res is None:
        raise NotFound(
            f"resource {data.resource_id} not found",
            kind="resource_not_found",
            params={"resource": data.resource_id},
        )
    if res.organisation_id != actor.org_id:
        raise Forbidden("only the organisation owning the resource may offer it", kind="resource_owner_only")
    if res.capability != req.capability:
        raise InvalidInput(
            f"resource capability {res.capability!r} does not match the requested {req.capability!r}",
            kind="capability_mismatch",
        )
    if data.quantity > res.size:
        raise InvalidInput(
            f"quantity {data.quantity} exceeds the resource size {res.size}",
            kind="quantity_exceeds_size",
            params={"quantity": data.quantity, "size": res.size},
        )
    offer = ResourceOffer(
        request_id=req.id, resource_id=res.id, organisation_id=res.organisation_id, quantity=data.quantity,
        note=data.note, status="offered", offered_at=now(),
    )  # fmt: skip
    db.add(offer)
    db.flush()
    log_event(db, crisis_id=req.crisis_id, actor=actor, kind="offer.offered",
              summary=f"{actor.org_short_name} offers {data.quantity} x {res.capability} ({res.name}) for request {req.id}",
              params={"offer": offer.id, "quantity": data.quantity, "capability": res.capability, "resource": res.name,
                      "request": req.id})  # fmt: skip
    audit.record(
        db,
        actor=actor,
        action="crisis.offer.offered",
        target=f"offer:{offer.id}",
        details={"request": req.id, "resource": res.id, "quantity": data.quantity},
    )
    notices.notify(
        db, kind="offer.offered", subject=notices.Text("Offer #%(id)s for request #%(request)s: %(quantity)s x %(capability)s",
                            {"id": offer.id, "request": req.id, "quantity": data.quantity,
                             "capability": notices.capability_text(res.capability)}),
        body=notices.Text("Accept or decline it."), target=f"offer:{offer.id}",
        user_ids=notices.recipients(db, roles=[Role.COORDINATOR], centre=True),
    )  # fmt: skip
    return offer


def get_offer(db: Session, *, offer_id: int) -> ResourceOffer:
    offer = db.get(ResourceOffer, offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id} not found", kind="offer_not_found", params={"offer": offer_id})
    return offer


def list_offers(db: Session, *, request_id: int | None = None) -> list[ResourceOffer]:
    stmt = select(ResourceOffer).order_by(ResourceOffer.id)
    if request_id is not None:
        stmt = stmt.where(ResourceOffer.request_id == request_id)
    return list(db.execute(stmt).scalars())


def check_offer_step(db: Session, actor: Actor, offer: ResourceOffer, to: str) -> None:
    """Who may move an offer to ``to``: the crisis centre accepts or declines, the owner does the rest."""
    if to in _CENTRE_STEPS:
        require_centre(db, actor, doing=f"mark offers '{to}'")
    elif to in _MEMBER_STEPS:
        if to == "demobilised" and org_kind(db, actor.org_id) == "crisis_centre":
            require_centre(db, actor, doing="demobilise teams")
        else:
            require_role(actor, Role.REPRESENTATIVE, doing=f"mark offers '{to}'")
            require_org(actor, offer.organisation_id, doing=f"mark this offer '{to}'")
    else:
        raise InvalidInput(f"unknown offer state {to!r}", kind="unknown_step")


def advance_offer(db: Session, *, actor: Actor, offer_id: int, to: str) -> ResourceOffer:
    offer = get_offer(db, offer_id=offer_id)
    check_offer_step(db, actor, offer, to)
    offer = move(db, ResourceOffer, offer_id, machine=OFFER, to=to, label=f"offer {offer_id}")
    req = db.get(AssistanceRequest, offer.request_id)
    assert req is not None
    log_event(
        db,
        crisis_id=req.crisis_id,
        actor=actor,
        kind=f"offer.{to}",
        summary=f"offer {offer.id} ({offer.quantity} units) {to}",
        params={"offer": offer.id, "quantity": offer.quantity, "request": req.id},
    )
    audit.record(
        db, actor=actor, action=f"crisis.offer.{to}", target=f"offer:{offer.id}", details={"request": req.id}
    )
    if to in _CENTRE_STEPS:
        who = notices.recipients(db, roles=[Role.REPRESENTATIVE], org_ids=[offer.organisation_id])
        action = N_("Commit the team/equipment.") if to == "accepted" else ""
    else:
        who = notices.recipients(db, roles=[Role.COORDINATOR], centre=True) + notices.recipients(
            db, roles=[Role.REPRESENTATIVE], org_ids=[req.organisation_id]
        )
        action = ""
    notices.notify(
        db, kind=f"offer.{to}", subject=notices.Text("Offer #%(id)s for request #%(request)s: %(state)s",
                                                 {"id": offer.id, "request": req.id, "state": notices.state_text(to)}),
        body=notices.Text(action) if action else "",
        target=f"offer:{offer.id}", user_ids=who, webhook_org_ids=[offer.organisation_id],
    )  # fmt: skip
    return offer


@dataclass
class Coverage:
    request_id: int
    capability: str
    needed: int
    offered: int
    covered: int
    deployed: int
    missing: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def coverage(db: Session, *, request_id: int) -> Coverage:
    """What an approved request still lacks: covered = accepted or further along."""
    req = get_request(db, request_id=request_id)
    rows = db.execute(
        select(ResourceOffer.status, ResourceOffer.quantity).where(ResourceOffer.request_id == req.id)
    ).all()
    offered = sum(q for s, q in rows if s != "declined")
    covered = sum(q for s, q in rows if s in COVERING)
    deployed = sum(q for s, q in rows if s in ("deployed", "demobilised"))
    return Coverage(
        req.id, req.capability, req.quantity, offered, covered, deployed, max(0, req.quantity - covered)
    )


def crisis_coverage(db: Session, *, crisis_id: int) -> dict[str, Any]:
    """The coordinator's view: every approved request of a crisis, what is covered and what is missing."""
    rows = [
        coverage(db, request_id=r_id)
        for r_id in db.execute(
            select(AssistanceRequest.id)
            .where(AssistanceRequest.crisis_id == crisis_id, AssistanceRequest.status == "approved")
            .order_by(AssistanceRequest.id)
        ).scalars()
    ]
    by_capability: dict[str, dict[str, int]] = {}
    for c in rows:
        agg = by_capability.setdefault(c.capability, {"needed": 0, "covered": 0, "deployed": 0, "missing": 0})
        for key in agg:
            agg[key] += getattr(c, key)
    return {
        "crisis_id": crisis_id,
        "requests": [c.to_dict() for c in rows],
        "by_capability": by_capability,
        "missing": [c.to_dict() for c in rows if c.missing > 0],
    }
