"""Read models for the crisis pages: what awaits an organisation's answer, and the crises still open.

The dashboard and the crisis list show the same "awaiting your answer" list; computing it
here keeps the eligibility rule in the domain, and the web layer only renders it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.crisis import service
from colsec.crisis.access import NATIONAL_ROLES, allows, org_kind, require_centre, require_role
from colsec.crisis.consultation import answerable_org, is_eligible
from colsec.crisis.incident import check_national_step
from colsec.crisis.models import AssistanceRequest, Consultation, Crisis, Incident, ResourceOffer
from colsec.crisis.outcome import Outcome, Rule, Tally, outcome_at_close
from colsec.crisis.resources import check_offer_step
from colsec.crisis.states import CRISIS, INCIDENT, OFFER, aware

__all__ = [
    "NEXT_OFFER_STEPS",
    "Permissions",
    "as_aware",
    "awaiting_consultations",
    "consultation_view",
    "crisis_steps",
    "incident_steps",
    "member_alert_levels",
    "offer_steps",
    "permissions",
    "situation",
]

_OVER = ("closed", "reviewed")
_NEVER = datetime.max.replace(tzinfo=UTC)

# Where an offer can go next, from the domain's own state machine (who may take a step is
# decided when it is taken).
NEXT_OFFER_STEPS: dict[str, tuple[str, ...]] = {
    state: tuple(to for to, sources in OFFER.items() if state in sources)
    for state in dict.fromkeys(s for sources in OFFER.values() for s in sources)
}


def _next(machine: dict[str, tuple[str, ...]], state: str) -> list[str]:
    return [to for to, sources in machine.items() if state in sources]


@dataclass(frozen=True)
class Permissions:
    """What the actor may do in the crisis workspace, asked of the verbs' own checks."""

    centre: bool  # alliance steps: crises, consultations, sitreps, lessons, CAP, accepting offers
    national: bool  # report incidents, register resources, draft requests (member organisations)
    representative: bool  # submit requests, offer resources, answer and delegate consultations


def permissions(db: Session, actor: Actor) -> Permissions:
    member = org_kind(db, actor.org_id) == "member"
    return Permissions(
        centre=allows(lambda: require_centre(db, actor, doing="")),
        national=member and allows(lambda: require_role(actor, *NATIONAL_ROLES, doing="")),
        representative=member and allows(lambda: require_role(actor, Role.REPRESENTATIVE, doing="")),
    )


def incident_steps(actor: Actor, inc: Incident) -> list[str]:
    """The incident's next states this actor may take it to."""
    if not allows(lambda: check_national_step(actor, inc)):
        return []
    return _next(INCIDENT, inc.status)


def crisis_steps(perms: Permissions, crisis: Crisis) -> list[str]:
    return _next(CRISIS, crisis.status) if perms.centre else []


def offer_steps(db: Session, actor: Actor, offer: ResourceOffer) -> list[str]:
    return [
        to
        for to in NEXT_OFFER_STEPS.get(offer.status, ())
        if allows(partial(check_offer_step, db, actor, offer, to))
    ]


def consultation_view(
    db: Session, actor: Actor, c: Consultation, *, now: datetime | None = None
) -> dict[str, Any]:
    """The consultation page's model: who may answer or delegate, and the outcome computed so far."""
    positions = service.list_positions(db, consultation_id=c.id)
    answered = {p.organisation_id for p in positions}
    tally = Tally(c.eligible_count, c.quorum, c.agree_count, c.object_count, c.abstain_count)
    projected: Outcome | None = None
    if c.status == "open":
        projected = outcome_at_close(Rule(c.rule), tally)[0]
    own_org_open = (
        c.status == "open"
        and actor.org_id is not None
        and actor.org_id not in answered
        and is_eligible(db, c.id, actor.org_id)
    )
    return {
        "positions": positions,
        "answer_for": answerable_org(db, actor, c),
        "may_delegate": own_org_open and allows(lambda: require_role(actor, Role.REPRESENTATIVE, doing="")),
        "projected": projected.value if projected else None,
        "pending": tally.pending,
        "mine": next((p for p in positions if p.organisation_id == actor.org_id), None),
    }


def as_aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else aware(dt)


def awaiting_consultations(db: Session, *, actor: Actor) -> list[dict[str, Any]]:
    """Open consultations where the actor's organisation is eligible and has not answered yet,
    soonest deadline first."""
    waiting = []
    for c in service.list_consultations(db, status="open"):
        if actor.org_id is None or actor.org_id not in service.eligible_org_ids(db, c.id):
            continue
        answered = {p.organisation_id for p in service.list_positions(db, consultation_id=c.id)}
        if actor.org_id in answered:
            continue
        waiting.append((as_aware(c.deadline), c))
    waiting.sort(key=lambda pair: pair[0] or _NEVER)
    return [{"c": c, "deadline": deadline} for deadline, c in waiting]


def situation(db: Session, *, actor: Actor, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard's crisis panel: crises not yet closed and what awaits this organisation."""
    crises = [c for c in service.list_crises(db) if c.status not in _OVER]
    return {
        "crises": crises,
        "awaiting": awaiting_consultations(db, actor=actor),
        "now": now or datetime.now(UTC),
    }


def member_alert_levels(db: Session) -> dict[int, int]:
    """Each member's current crisis alert level: the highest level of the open crises its incidents
    or assistance requests belong to (members in no open crisis are absent).  Crisis levels are
    alliance-wide knowledge: every member's dashboard shows them."""
    involved = union_all(
        select(Incident.organisation_id.label("org"), Incident.crisis_id.label("crisis")).where(
            Incident.crisis_id.is_not(None)
        ),
        select(AssistanceRequest.organisation_id, AssistanceRequest.crisis_id),
    ).subquery()
    rows = db.execute(
        select(involved.c.org, func.max(Crisis.alert_level))
        .join(Crisis, Crisis.id == involved.c.crisis)
        .where(Crisis.status.not_in(_OVER))
        .group_by(involved.c.org)
    ).all()
    return {int(org): int(level) for org, level in rows}
