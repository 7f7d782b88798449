"""The written procedure: the crisis consultation engine applied to a group's non-urgent matters.

Consensus and simple majority are the crisis rules themselves (``colsec.crisis.outcome.decide``);
this module adds the two rules committees also use:

- **qualified majority**: at least two thirds of the votes cast (abstentions do not count), with a quorum;
- **silence procedure**: adopted at the deadline unless a member objects; one objection breaks the
  silence at once.  Silence needs no quorum: not answering *is* the assent.

Answers follow the consultation's concurrency design: one INSERT guarded by the unique
(procedure, organisation) constraint, then one conditional UPDATE of the counters
``WHERE status = 'open' AND deadline > :now`` that refuses late answers and serialises writers.
A representative answers for their organisation; a deputy only inside an active delegation
window; observers never vote.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor
from colsec.crisis import notify as notices
from colsec.crisis.errors import ConsultationClosed
from colsec.crisis.outcome import Outcome, Reason, Rule, Tally, Verdict, decide
from colsec.crisis.states import aware
from colsec.crisis.states import now as clock
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.groups.access import get_group, member_kind, require_officer
from colsec.groups.models import Delegation, Group, Person, Procedure, ProcedureAnswer, ProcedureMember
from colsec.groups.schemas import AnswerIn, ProcedureIn, ProcedureRule
from colsec.groups.service import member_org_ids, new_decision, people_of, utc
from colsec.outbox.text import N_
from colsec.store import audit

__all__ = [
    "REMIND_BEFORE",
    "answer",
    "close_due",
    "decide_procedure",
    "get_procedure",
    "open_procedure",
    "remind_pending",
]

REMIND_BEFORE = timedelta(hours=24)
_COUNTER = {"agree": "agree_count", "object": "object_count", "abstain": "abstain_count"}
# A rule as its notice names it (the catalog message of each rule).
_RULE_NAMES = {
    ProcedureRule.CONSENSUS: N_("consensus"),
    ProcedureRule.SIMPLE: N_("simple"),
    ProcedureRule.QUALIFIED: N_("qualified"),
    ProcedureRule.SILENCE: N_("silence"),
}


@dataclass(frozen=True, slots=True)
class _Qualified:
    numerator: int = 2
    denominator: int = 3


def decide_procedure(rule: ProcedureRule, t: Tally, *, deadline_passed: bool) -> Verdict:
    """Is the outcome certain now?  Pure; the crisis rules where they apply."""
    if rule is ProcedureRule.CONSENSUS:
        return decide(Rule.CONSENSUS, t, deadline_passed=deadline_passed)
    if rule is ProcedureRule.SIMPLE:
        return decide(Rule.MAJORITY, t, deadline_passed=deadline_passed)
    if t.eligible < 1 or not 1 <= t.quorum <= t.eligible or t.pending < 0:
        raise ValueError("need at least one eligible member, 1 <= quorum <= eligible and answers <= eligible")
    if rule is ProcedureRule.SILENCE:
        if t.object > 0:
            return Verdict(True, Outcome.REJECTED, Reason("silence_broken", {"object": t.object}))
        if deadline_passed or t.pending == 0:
            return Verdict(True, Outcome.APPROVED, Reason("silence_kept", {"agree": t.agree}))
        return Verdict(False, None, Reason("silence_holds", {"pending": t.pending}))
    q = _Qualified()

    def at_close(agree: int, obj: int, answered: int) -> tuple[Outcome, Reason]:
        if answered < t.quorum:
            return Outcome.NO_DECISION, Reason(
                "quorum_not_reached", {"answered": answered, "quorum": t.quorum}
            )
        if agree + obj > 0 and agree * q.denominator >= (agree + obj) * q.numerator:
            return Outcome.APPROVED, Reason("qualified_majority", {"agree": agree, "object": obj})
        return Outcome.REJECTED, Reason("no_qualified_majority", {"agree": agree, "object": obj})

    if deadline_passed or t.pending == 0:
        o, r = at_close(t.agree, t.object, t.answered)
        return Verdict(True, o, r)
    # certain when every way the pending members could answer gives the same outcome
    outcomes = {at_close(t.agree + a, t.object + o, t.answered + a + o + s)[0]
                for a in range(t.pending + 1) for o in range(t.pending + 1 - a) for s in (0, t.pending - a - o)}  # fmt: skip
    outcomes |= {at_close(t.agree, t.object, t.answered)[0]}
    if len(outcomes) == 1:
        o, r = at_close(t.agree, t.object, t.answered)
        return Verdict(True, o, r.with_(settled=True))
    return Verdict(False, None, Reason("waiting", {"pending": t.pending}))


def open_procedure(
    db: Session, *, actor: Actor, group_id: int, data: ProcedureIn, now: datetime | None = None
) -> Procedure:
    """The chair or secretary puts a text to the voting members (observers are not asked)."""
    g = get_group(db, actor, group_id)
    require_officer(g, actor, doing="open written procedures")
    at = now or clock()
    deadline = utc(data.deadline, "deadline")
    if deadline <= at:
        raise InvalidInput("the deadline must be in the future", kind="deadline_not_future")
    orgs = member_org_ids(db, g.id)
    if not orgs:
        raise InvalidInput(
            f"{g.code} has no voting members", kind="group_no_voting_members", params={"group": g.code}
        )
    quorum = data.quorum if data.quorum is not None else len(orgs) // 2 + 1
    if quorum > len(orgs):
        raise InvalidInput(
            f"quorum {quorum} exceeds the {len(orgs)} voting members",
            kind="quorum_exceeds_members",
            params={"quorum": quorum, "members": len(orgs)},
        )
    p = Procedure(group_id=g.id, question=data.question, text_en=data.text_en, text_ru=data.text_ru,
                  options=orjson.dumps(data.options).decode(), rule=data.rule.value, quorum=quorum,
                  eligible_count=len(orgs), deadline=deadline, status="open", opened_by=actor.username, opened_at=at)  # fmt: skip
    db.add(p)
    db.flush()
    db.add_all(ProcedureMember(procedure_id=p.id, organisation_id=o) for o in orgs)
    db.flush()
    audit.record(db, actor=actor, action="groups.procedure.open", target=f"procedure:{p.id}",
                 details={"group": g.code, "rule": p.rule, "quorum": quorum, "deadline": deadline.isoformat()})  # fmt: skip
    notices.notify(db, kind="groups.procedure.opened",
                   subject=notices.Text("[%(code)s] Written procedure #%(id)s (%(rule)s): answer before %(deadline)s",
                                        {"code": g.code, "id": p.id, "rule": notices.Text(_RULE_NAMES[ProcedureRule(p.rule)]), "deadline": deadline}),
                   body=p.question, target=f"procedure:{p.id}", user_ids=people_of(db, g.id, orgs))  # fmt: skip
    return p


def get_procedure(db: Session, *, actor: Actor, procedure_id: int) -> tuple[Procedure, Group]:
    p = db.get(Procedure, procedure_id)
    if p is None:
        raise NotFound(
            f"procedure {procedure_id} not found",
            kind="procedure_not_found",
            params={"procedure": procedure_id},
        )
    try:
        return p, get_group(db, actor, p.group_id)
    except NotFound:
        raise NotFound(
            f"procedure {procedure_id} not found",
            kind="procedure_not_found",
            params={"procedure": procedure_id},
        ) from None


def _acting_org(
    db: Session, actor: Actor, g: Group, on_behalf_of: str | None, at: datetime
) -> tuple[int, bool]:
    """Which organisation this answer counts for, and whether a deputy casts it."""
    if actor.org_id is None:
        raise Forbidden("answers are cast for an organisation", kind="answer_needs_organisation")
    if on_behalf_of is not None:
        org = db.execute(select(Organisation.id).where(Organisation.short_name == on_behalf_of)).scalar()
        if org != actor.org_id:
            raise Forbidden("you answer only for your own organisation", kind="answer_own_organisation_only")
    kind = member_kind(db, g.id, actor.org_id)
    if kind == "observer":
        raise Forbidden(
            f"observers in {g.code} do not vote", kind="observers_do_not_vote", params={"group": g.code}
        )
    if kind is None:
        raise Forbidden(
            f"your organisation is not a member of {g.code}",
            kind="your_org_not_member",
            params={"group": g.code},
        )
    fn = db.execute(
        select(Person.function).where(Person.group_id == g.id, Person.user_id == actor.user_id)
    ).scalar()
    if fn == "representative":
        return actor.org_id, False
    if fn == "deputy":
        active = db.execute(
            select(Delegation.id).where(
                Delegation.group_id == g.id, Delegation.organisation_id == actor.org_id,
                Delegation.deputy_user_id == actor.user_id, Delegation.starts_at <= at, Delegation.ends_at > at,
            )
        ).first()  # fmt: skip
        if active is None:
            raise Forbidden(
                "a deputy answers only while a delegation from the representative is active",
                kind="deputy_without_delegation",
            )
        return actor.org_id, True
    raise Forbidden(
        f"only your organisation's representative (or a delegated deputy) answers in {g.code}",
        kind="representative_answers",
        params={"group": g.code},
    )


def answer(
    db: Session, *, actor: Actor, procedure_id: int, data: AnswerIn, now: datetime | None = None
) -> ProcedureAnswer:
    """Record one organisation's answer; may close the procedure when the outcome is certain."""
    p, g = get_procedure(db, actor=actor, procedure_id=procedure_id)
    at = now or clock()
    if p.status != "open" or aware(p.deadline) <= at:
        raise ConsultationClosed(
            f"procedure {p.id} is closed or past its deadline: answer refused", kind="procedure_closed"
        )
    org_id, deputy = _acting_org(db, actor, g, data.on_behalf_of, at)
    eligible = db.execute(
        select(ProcedureMember.id).where(
            ProcedureMember.procedure_id == p.id, ProcedureMember.organisation_id == org_id
        )
    ).first()
    if eligible is None:
        raise Forbidden(
            "your organisation was not a voting member when this procedure opened",
            kind="not_voting_at_opening",
        )
    options = orjson.loads(p.options)
    if data.option is not None and data.option not in options:
        raise InvalidInput(
            f"unknown option {data.option!r}; one of: {', '.join(options)}",
            kind="unknown_option",
            params={"option": data.option, "options": ", ".join(options)},
        )
    row = ProcedureAnswer(procedure_id=p.id, organisation_id=org_id, stance=data.stance.value, option=data.option,
                          comment=data.comment, cast_by=actor.username, by_deputy=deputy, cast_at=at)  # fmt: skip
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict(
            "your organisation has already answered this procedure", kind="procedure_already_answered"
        ) from None
    col = getattr(Procedure, _COUNTER[data.stance.value])
    counts = db.execute(
        update(Procedure).where(Procedure.id == p.id, Procedure.status == "open", Procedure.deadline > at)
        .values({col: col + 1})
        .returning(Procedure.agree_count, Procedure.object_count, Procedure.abstain_count)
        .execution_options(synchronize_session=False)
    ).first()  # fmt: skip
    if counts is None:
        raise ConsultationClosed(
            f"procedure {p.id} is closed or past its deadline: answer refused", kind="procedure_closed"
        )
    audit.record(db, actor=actor, action="groups.procedure.answer", target=f"procedure:{p.id}",
                 details={"org": org_id, "stance": row.stance, "deputy": deputy})  # fmt: skip
    tally = Tally(
        eligible=p.eligible_count, quorum=p.quorum, agree=counts[0], object=counts[1], abstain=counts[2]
    )
    verdict = decide_procedure(ProcedureRule(p.rule), tally, deadline_passed=False)
    if verdict.final:
        assert verdict.outcome is not None
        _finalise(db, p.id, verdict.outcome, verdict.reason, at=at)
    return row


def _finalise(db: Session, procedure_id: int, outcome: Outcome, reason: Reason, *, at: datetime) -> bool:
    """Close exactly once; an adopted text enters the decisions register with every position."""
    res: Any = db.execute(
        update(Procedure).where(Procedure.id == procedure_id, Procedure.status == "open")
        .values(status="closed", outcome=outcome.value, reason=reason.encode(), decided_at=at)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    if res.rowcount != 1:
        return False
    p = db.get(Procedure, procedure_id)
    assert p is not None
    db.refresh(p)
    g = db.get(Group, p.group_id)
    assert g is not None
    answers = db.execute(
        select(Organisation.short_name, ProcedureAnswer.stance, ProcedureAnswer.option)
        .join(Organisation, Organisation.id == ProcedureAnswer.organisation_id)
        .where(ProcedureAnswer.procedure_id == p.id)
    ).all()  # fmt: skip
    eligible = db.execute(
        select(Organisation.short_name).join(ProcedureMember, ProcedureMember.organisation_id == Organisation.id)
        .where(ProcedureMember.procedure_id == p.id)
    ).scalars()  # fmt: skip
    positions = {s: "silent" for s in eligible} | {s: st for s, st, _ in answers}
    if outcome is Outcome.APPROVED:
        options = orjson.loads(p.options)
        votes = Counter(o for _, st, o in answers if st == "agree" and o)
        chosen = next((o for o in options if votes and votes.get(o) == max(votes.values())), None)
        text_en = p.text_en + (f"\nOption: {chosen}" if chosen else "")
        text_ru = p.text_ru + (f"\nВариант: {chosen}" if chosen else "")
        how = "silence" if p.rule == ProcedureRule.SILENCE else "written"
        d = new_decision(
            db, g, text_en=text_en, text_ru=text_ru, how=how, at=at, procedure_id=p.id, positions=positions
        )
        p.decision_id = d.id
        db.flush()
    audit.record(db, actor=_system(), action="groups.procedure.decide", target=f"procedure:{p.id}",
                 details={"outcome": outcome.value, "reason": reason.english, "reason_code": reason.code,
                          "positions": positions})  # fmt: skip
    notices.notify(db, kind="groups.procedure.decided", subject=notices.Text("[%(code)s] Written procedure #%(id)s: %(outcome)s (%(reason)s)",
                                                                    {"code": g.code, "id": p.id, "outcome": notices.state_text(outcome.value), "reason": reason.text}),
                   target=f"procedure:{p.id}", user_ids=people_of(db, g.id))  # fmt: skip
    return True


def _system() -> Actor:
    from colsec.accounts.roles import SYSTEM

    return SYSTEM


def close_due(db: Session, *, now: datetime | None = None) -> list[int]:
    """Close every open procedure whose deadline has passed (silence adopts; no quorum, no decision)."""
    at = now or clock()
    closed = []
    for p in (
        db.execute(select(Procedure).where(Procedure.status == "open", Procedure.deadline <= at))
        .scalars()
        .all()
    ):
        tally = Tally(eligible=p.eligible_count, quorum=p.quorum, agree=p.agree_count, object=p.object_count,
                      abstain=p.abstain_count)  # fmt: skip
        verdict = decide_procedure(ProcedureRule(p.rule), tally, deadline_passed=True)
        assert verdict.outcome is not None
        if _finalise(db, p.id, verdict.outcome, verdict.reason, at=at):
            closed.append(p.id)
    return closed


def remind_pending(db: Session, *, now: datetime | None = None) -> int:
    """Once per procedure, a day before the deadline: tell the members who have not answered."""
    at = now or clock()
    told = 0
    for p in db.execute(
        select(Procedure).where(Procedure.status == "open", Procedure.reminded_at.is_(None),
                                Procedure.deadline <= at + REMIND_BEFORE, Procedure.deadline > at)
    ).scalars().all():  # fmt: skip
        claimed: Any = db.execute(
            update(Procedure).where(Procedure.id == p.id, Procedure.reminded_at.is_(None)).values(reminded_at=at)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        if claimed.rowcount != 1:
            continue
        answered = select(ProcedureAnswer.organisation_id).where(ProcedureAnswer.procedure_id == p.id)
        silent = list(db.execute(
            select(ProcedureMember.organisation_id).where(ProcedureMember.procedure_id == p.id,
                                                          ProcedureMember.organisation_id.not_in(answered))
        ).scalars())  # fmt: skip
        g = db.get(Group, p.group_id)
        code = g.code if g else "?"
        told += notices.notify(db, kind="groups.procedure.reminder",
                               subject=notices.Text("[%(code)s] Reminder: written procedure #%(id)s closes %(deadline)s",
                                                    {"code": code, "id": p.id, "deadline": aware(p.deadline)}),
                               body=p.question, target=f"procedure:{p.id}", user_ids=people_of(db, p.group_id, silent))  # fmt: skip
    return told
