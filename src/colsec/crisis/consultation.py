"""Consultations: eligible members answer agree / object / abstain before a deadline.

Concurrency design (no read-then-write): a position is one INSERT guarded by the
unique (consultation, organisation) constraint, then one conditional
``UPDATE consultation SET <stance>_count = <stance>_count + 1 WHERE id = :id AND
status = 'open' AND deadline > :now RETURNING counters``.  That UPDATE both refuses
late or post-decision positions and serialises writers on the consultation row, so
the figures it returns are exact and the early close (another conditional UPDATE
``WHERE status = 'open'``) happens exactly once.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import allows, require_centre, require_role
from colsec.crisis.crises import log_event
from colsec.crisis.errors import ConsultationClosed
from colsec.crisis.models import (
    AssistanceRequest,
    Consultation,
    ConsultationDelegation,
    ConsultationMember,
    Position,
)
from colsec.crisis.outcome import Outcome, Reason, Rule, Tally, decide
from colsec.crisis.requests import get_request, submit_request
from colsec.crisis.schemas import ConsultationIn, PositionIn
from colsec.crisis.states import REQUEST, REQUEST_NO_DECISION, aware, move, now
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.store import audit

__all__ = [
    "answerable_org",
    "eligible_org_ids",
    "finalise",
    "get_consultation",
    "is_eligible",
    "list_consultations",
    "list_positions",
    "open_consultation",
    "post_position",
    "request_question",
    "submit_for_consultation",
]

#: The question a request's own consultation asks, stored as this text (what the API returns and
#: the record keeps); ``request_question`` reads it back so the UI asks it in the reader's language.
REQUEST_QUESTION = "Approve request #{id}: {quantity} x {capability} for {location}?"
_REQUEST_QUESTION = re.compile(
    r"Approve request #(?P<id>\d+): (?P<quantity>\d+) x (?P<capability>[a-z0-9-]+) for (?P<location>.+)\?",
    re.S,
)


def request_question(text: str) -> dict[str, str] | None:
    """The parts of a question ``REQUEST_QUESTION`` wrote; None for a question someone typed."""
    m = _REQUEST_QUESTION.fullmatch(text)
    return m.groupdict() if m else None


_COUNTER = {"agree": "agree_count", "object": "object_count", "abstain": "abstain_count"}


def open_consultation(db: Session, *, actor: Actor, request_id: int, data: ConsultationIn) -> Consultation:
    """Put a submitted request to the members; the request moves to 'in_consultation'."""
    require_centre(db, actor, doing="open consultations")
    req = get_request(db, request_id=request_id)
    at = now()
    deadline = aware(data.deadline)
    if deadline <= at:
        raise InvalidInput("the deadline must be in the future", kind="deadline_not_future")
    if data.eligible_org_ids is None:
        orgs = list(
            db.execute(
                select(Organisation.id).where(Organisation.kind == "member").order_by(Organisation.id)
            ).scalars()
        )
    else:
        orgs = sorted(set(data.eligible_org_ids))
        known = set(
            db.execute(
                select(Organisation.id).where(Organisation.id.in_(orgs), Organisation.kind == "member")
            ).scalars()
        )
        if known != set(orgs):
            raise InvalidInput(
                f"not member organisations: {sorted(set(orgs) - known)}",
                kind="not_member_organisations",
                params={"orgs": ", ".join(map(str, sorted(set(orgs) - known)))},
            )
    if not orgs:
        raise InvalidInput(
            "a consultation needs at least one eligible member organisation",
            kind="consultation_needs_members",
        )
    quorum = data.quorum if data.quorum is not None else len(orgs) // 2 + 1
    if quorum > len(orgs):
        raise InvalidInput(
            f"quorum {quorum} exceeds the {len(orgs)} eligible members",
            kind="quorum_exceeds_members",
            params={"quorum": quorum, "members": len(orgs)},
        )
    req = move(
        db, AssistanceRequest, request_id, machine=REQUEST, to="in_consultation", label=f"request {req.id}"
    )
    c = Consultation(
        request_id=req.id, crisis_id=req.crisis_id, question=data.question, options=orjson.dumps(data.options).decode(),
        rule=data.rule.value, quorum=quorum, eligible_count=len(orgs), deadline=deadline, status="open",
        opened_by=actor.username, opened_at=at,
    )  # fmt: skip
    db.add(c)
    db.flush()
    db.add_all(ConsultationMember(consultation_id=c.id, organisation_id=o) for o in orgs)
    db.flush()
    log_event(db, crisis_id=c.crisis_id, actor=actor, kind="consultation.opened",
              summary=f"consultation {c.id} on request {req.id} ({c.rule}, quorum {quorum}, deadline {deadline.isoformat()})",
              params={"consultation": c.id, "request": req.id, "rule": c.rule, "quorum": quorum,
                      "deadline": deadline.isoformat()})  # fmt: skip
    audit.record(
        db, actor=actor, action="crisis.consultation.open", target=f"consultation:{c.id}",
        details={"request": req.id, "rule": c.rule, "quorum": quorum, "eligible": orgs, "deadline": deadline.isoformat()},
    )  # fmt: skip
    notices.notify(
        db, kind="consultation.opened", subject=notices.Text("Consultation #%(id)s: answer before %(deadline)s", {"id": c.id, "deadline": deadline}),
        body=c.question, target=f"consultation:{c.id}",
        user_ids=notices.recipients(db, roles=[Role.REPRESENTATIVE], org_ids=orgs), webhook_org_ids=orgs,
        payload={"consultation": c.id, "deadline": deadline.isoformat()},
    )  # fmt: skip
    return c


FAST_TRACK_HOURS = 24


def submit_for_consultation(db: Session, *, actor: Actor, request_id: int) -> Consultation:
    """Submit a drafted request and put it to the members at once (the "at once" of the request form).

    The member's representative submits; the node opens the consultation on the crisis
    centre's behalf with the standing rule for urgent requests: every member organisation,
    simple majority, closing when the help is needed (within 24 h, at least one hour away).
    The crisis centre sees it opened on its timeline and may still decide as usual.
    """
    req = submit_request(db, actor=actor, request_id=request_id)
    at = now()
    deadline = min(aware(req.needed_by), at + timedelta(hours=FAST_TRACK_HOURS))
    deadline = max(deadline, at + timedelta(hours=1))
    question = REQUEST_QUESTION.format(
        id=req.id, quantity=req.quantity, capability=req.capability, location=req.location
    )
    return open_consultation(
        db, actor=SYSTEM, request_id=req.id,
        data=ConsultationIn(question=question, rule=Rule.MAJORITY, deadline=deadline),
    )  # fmt: skip


def get_consultation(db: Session, *, consultation_id: int) -> Consultation:
    c = db.get(Consultation, consultation_id)
    if c is None:
        raise NotFound(
            f"consultation {consultation_id} not found",
            kind="consultation_not_found",
            params={"consultation": consultation_id},
        )
    return c


def list_consultations(
    db: Session, *, crisis_id: int | None = None, status: str | None = None
) -> list[Consultation]:
    stmt = select(Consultation).order_by(Consultation.id)
    if crisis_id is not None:
        stmt = stmt.where(Consultation.crisis_id == crisis_id)
    else:  # across crises: real ones only (an exercise crisis lists its own)
        stmt = stmt.where(Consultation.exercise_run_id.is_(None))
    if status:
        stmt = stmt.where(Consultation.status == status)
    return list(db.execute(stmt).scalars())


def eligible_org_ids(db: Session, consultation_id: int) -> list[int]:
    return list(
        db.execute(
            select(ConsultationMember.organisation_id)
            .where(ConsultationMember.consultation_id == consultation_id)
            .order_by(ConsultationMember.organisation_id)
        ).scalars()
    )


def list_positions(db: Session, *, consultation_id: int) -> list[Position]:
    return list(
        db.execute(
            select(Position).where(Position.consultation_id == consultation_id).order_by(Position.id)
        ).scalars()
    )


def is_eligible(db: Session, consultation_id: int, org_id: int) -> bool:
    return (
        db.execute(
            select(ConsultationMember.organisation_id).where(
                ConsultationMember.consultation_id == consultation_id,
                ConsultationMember.organisation_id == org_id,
            )
        ).first()
        is not None
    )


def answerable_org(db: Session, actor: Actor, c: Consultation) -> int | None:
    """The organisation the actor may answer for now in ``c`` (own or delegated), or None.

    Built on the verb's own checks (``_acting_org``, eligibility, one answer per organisation).
    """
    if c.status != "open" or aware(c.deadline) <= now():
        return None
    delegated = db.execute(
        select(ConsultationDelegation.organisation_id).where(
            ConsultationDelegation.consultation_id == c.id,
            ConsultationDelegation.delegate_user_id == actor.user_id,
        )
    ).scalars()
    answered = set(
        db.execute(select(Position.organisation_id).where(Position.consultation_id == c.id)).scalars()
    )
    candidates: list[int | None] = [*delegated, actor.org_id]
    for org_id in candidates:
        if org_id is None or org_id in answered or not is_eligible(db, c.id, org_id):
            continue
        if allows(partial(_acting_org, db, actor, c, org_id)):
            return org_id
    return None


def _acting_org(db: Session, actor: Actor, c: Consultation, on_behalf_of: int | None) -> tuple[int, bool]:
    """Which organisation this answer counts for, and whether it is cast under a delegation."""
    org_id = on_behalf_of if on_behalf_of is not None else actor.org_id
    if org_id is None:
        raise Forbidden("positions are cast for an organisation", kind="answer_needs_organisation")
    d = db.execute(
        select(ConsultationDelegation.delegate_user_id).where(
            ConsultationDelegation.consultation_id == c.id, ConsultationDelegation.organisation_id == org_id
        )
    ).scalar()
    if d is not None:
        if d != actor.user_id:
            raise Forbidden(
                "this organisation's answer has been delegated to another user", kind="answer_delegated"
            )
        return org_id, True
    if org_id != actor.org_id:
        raise Forbidden("you hold no delegation for that organisation", kind="no_delegation_held")
    require_role(actor, Role.REPRESENTATIVE, doing="answer consultations")
    return org_id, False


def post_position(db: Session, *, actor: Actor, consultation_id: int, data: PositionIn) -> Position:
    """Record one organisation's answer; may close the consultation when the outcome is certain."""
    c = get_consultation(db, consultation_id=consultation_id)
    at = now()
    if c.status != "open" or aware(c.deadline) <= at:
        # fast, clear refusal; the conditional UPDATE below is what guards the race
        raise ConsultationClosed(
            f"consultation {c.id} is closed or past its deadline: position refused",
            kind="consultation_closed",
        )
    org_id, delegated = _acting_org(db, actor, c, data.on_behalf_of)
    if not is_eligible(db, c.id, org_id):
        raise Forbidden("this organisation is not eligible in this consultation", kind="org_not_eligible")
    options = orjson.loads(c.options)
    if data.option is not None and data.option not in options:
        raise InvalidInput(
            f"unknown option {data.option!r}; one of: {', '.join(options)}",
            kind="unknown_option",
            params={"option": data.option, "options": ", ".join(options)},
        )
    pos = Position(
        consultation_id=c.id, organisation_id=org_id, stance=data.stance.value, option=data.option,
        comment=data.comment, cast_by=actor.username, delegated=delegated, cast_at=at,
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(pos)
            db.flush()
    except IntegrityError:
        raise Conflict(
            "this organisation has already answered this consultation", kind="consultation_already_answered"
        ) from None
    col = getattr(Consultation, _COUNTER[data.stance.value])
    row = db.execute(
        update(Consultation)
        .where(Consultation.id == c.id, Consultation.status == "open", Consultation.deadline > at)
        .values({col: col + 1})
        .returning(Consultation.agree_count, Consultation.object_count, Consultation.abstain_count)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        raise ConsultationClosed(
            f"consultation {c.id} is closed or past its deadline: position refused",
            kind="consultation_closed",
        )
    audit.record(
        db, actor=actor, action="crisis.consultation.position", target=f"consultation:{c.id}",
        details={"org": org_id, "stance": pos.stance, "option": pos.option, "delegated": delegated},
    )  # fmt: skip
    org_name = db.execute(select(Organisation.short_name).where(Organisation.id == org_id)).scalar_one()
    log_event(db, crisis_id=c.crisis_id, actor=actor, kind="consultation.position", at=at,
              summary=f"consultation {c.id}: {org_name} answers {pos.stance}" + (f" ({pos.option})" if pos.option else ""),
              params={"consultation": c.id, "org": org_id, "org_name": org_name, "stance": pos.stance,
                      "option": pos.option, "delegated": delegated})  # fmt: skip
    tally = Tally(eligible=c.eligible_count, quorum=c.quorum, agree=row[0], object=row[1], abstain=row[2])
    verdict = decide(Rule(c.rule), tally, deadline_passed=False)
    if verdict.final:
        assert verdict.outcome is not None
        finalise(db, c.id, verdict.outcome, verdict.reason, actor=actor, at=at)
    return pos


def _chosen_option(db: Session, consultation_id: int, options: list[str]) -> str | None:
    if not options:
        return None
    votes = Counter(
        o
        for o in db.execute(
            select(Position.option).where(
                Position.consultation_id == consultation_id, Position.stance == "agree"
            )
        ).scalars()
        if o
    )
    if not votes:
        return options[0]
    best = max(votes.values())
    return next(o for o in options if votes.get(o) == best)


def finalise(
    db: Session, consultation_id: int, outcome: Outcome, reason: Reason, *, actor: Actor, at: datetime
) -> bool:
    """Close exactly once (conditional UPDATE) and move the request to its decided state."""
    c = get_consultation(db, consultation_id=consultation_id)
    chosen = _chosen_option(db, c.id, orjson.loads(c.options)) if outcome is Outcome.APPROVED else None
    result: Any = db.execute(
        update(Consultation)
        .where(Consultation.id == c.id, Consultation.status == "open")
        .values(
            status="closed",
            outcome=outcome.value,
            decided_at=at,
            decided_by=actor.username,
            decision_reason=reason.encode(),
            chosen_option=chosen,
        )  # fmt: skip
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    db.refresh(c)
    votes = {p.organisation_id: p.stance for p in list_positions(db, consultation_id=c.id)}
    audit.record(
        db, actor=actor, action="crisis.consultation.decide", target=f"consultation:{c.id}",
        details={"outcome": outcome.value, "reason": reason.english, "reason_code": reason.code, "votes": {str(k): v for k, v in votes.items()},
                 "option": chosen, "at": at.isoformat()},
    )  # fmt: skip
    req = db.get(AssistanceRequest, c.request_id) if c.request_id is not None else None
    moves = req is not None and req.status == "in_consultation"
    request_status = ("submitted" if outcome is Outcome.NO_DECISION else outcome.value) if moves else None
    log_event(db, crisis_id=c.crisis_id, actor=actor, kind="consultation.decided", at=at,
              summary=f"consultation {c.id}: {outcome.value} ({reason.english})",
              params={"consultation": c.id, "outcome": outcome.value, "reason": reason.to_json(), "option": chosen,
                      "request": c.request_id, "request_status": request_status})  # fmt: skip
    if moves and req is not None:
        if outcome is Outcome.NO_DECISION:
            move(
                db,
                AssistanceRequest,
                req.id,
                machine=REQUEST_NO_DECISION,
                to="submitted",
                label=f"request {req.id}",
                stamp=False,
            )
        else:
            move(
                db,
                AssistanceRequest,
                req.id,
                machine=REQUEST,
                to=outcome.value,
                label=f"request {req.id}",
                at=at,
            )
        audit.record(
            db,
            actor=actor,
            action=f"crisis.request.{outcome.value}",
            target=f"request:{req.id}",
            details={"consultation": c.id},
        )
        members = eligible_org_ids(db, c.id)
        notices.notify(
            db, kind=f"request.{outcome.value}",
            subject=notices.Text("Request #%(id)s: %(outcome)s (%(reason)s)",
                                 {"id": req.id, "outcome": notices.state_text(outcome.value), "reason": reason.text}),
            body=notices.Text("Offer resources against it.") if outcome is Outcome.APPROVED else reason.text,
            target=f"request:{req.id}",
            user_ids=notices.recipients(db, roles=[Role.REPRESENTATIVE], org_ids=[*members, req.organisation_id])
            + notices.recipients(db, roles=[Role.COORDINATOR], centre=True),
            webhook_org_ids=[*members, req.organisation_id],
            payload={"request": req.id, "consultation": c.id, "outcome": outcome.value},
        )  # fmt: skip
    return True
