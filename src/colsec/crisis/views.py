"""Read models for the crisis pages: what awaits an organisation's answer, and the crises still open.

The dashboard and the crisis list show the same "awaiting your answer" list; computing it
here keeps the eligibility rule in the domain, and the web layer only renders it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis import service
from colsec.crisis.models import AssistanceRequest, Crisis, Incident
from colsec.crisis.states import OFFER, aware

__all__ = ["NEXT_OFFER_STEPS", "as_aware", "awaiting_consultations", "member_alert_levels", "situation"]

_OVER = ("closed", "reviewed")
_NEVER = datetime.max.replace(tzinfo=UTC)

# Where an offer can go next, from the domain's own state machine (who may take a step is
# decided when it is taken).
NEXT_OFFER_STEPS: dict[str, tuple[str, ...]] = {
    state: tuple(to for to, sources in OFFER.items() if state in sources)
    for state in dict.fromkeys(s for sources in OFFER.values() for s in sources)
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
