"""Expected actions checked against the audit log: met, late or missed, and the scores built on them.

An expectation is met by the first audit entry after the inject's delivery with the expected
action, by the expected organisation (and role, when named), about what the inject created
(or, for a message, anything the run created), with its optional condition holding now.
Entries written by the run itself (actor ``exercise-N``) never count.  Umpires override a
result with a reason; the override wins.  One function (``evaluate``) computes results and
``summary`` the figures, so the API, the pages and the report cannot disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis.access import require_centre
from colsec.crisis.models import AssistanceRequest, Consultation, Position, ResourceOffer, SituationReport
from colsec.crisis.states import aware
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.models import ExerciseExpectation, ExerciseInject, ExerciseRun
from colsec.exercises.run import EXERCISE_ACTOR_PREFIX, _now, frozen
from colsec.stix.tlp import TLP
from colsec.store import audit
from colsec.store.models import AuditEntry, StixObject

__all__ = ["CONDITIONS", "VALUE", "Result", "evaluate", "override", "summary"]

VALUE = {"met": 1.0, "late": 0.5, "missed": 0.0}
CONDITIONS = (
    "", "consultation_answered", "decision_reached", "offer_committed", "sitrep_published", "indicator_tlp_green",
)  # fmt: skip


@dataclass
class Result:
    number: int
    inject_number: int
    objective: str
    event: str
    org: str
    role: str
    weight: float
    delivered_at: datetime | None
    deadline: datetime | None
    acted_at: datetime | None
    computed: str  # pending | met | late | missed | void (inject skipped or failed)
    status: str  # computed, or the umpire's override
    override_reason: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("delivered_at", "deadline", "acted_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _ts(text: str) -> datetime:
    return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _kind(ref: str) -> str:
    return ref.split("--", 1)[0] + "--" if "--" in ref else ref.split(":", 1)[0]


def _refs(inj: ExerciseInject) -> set[str]:
    return {r for r in inj.object_ref.split() if r and not inj.object_ref.startswith("error:")}


def _condition(db: Session, run: ExerciseRun, inj: ExerciseInject, org_id: int, cond: str) -> bool:
    refs = _refs(inj)
    ids = {int(r.split(":")[1]) for r in refs if r.startswith("consultation:")}
    if cond == "":
        return True
    if cond == "consultation_answered":
        return (
            bool(ids)
            and db.execute(
                select(func.count())
                .select_from(Position)
                .where(Position.consultation_id.in_(ids), Position.organisation_id == org_id)
            ).scalar_one()
            > 0
        )
    if cond == "decision_reached":
        return (
            bool(ids)
            and db.execute(
                select(func.count())
                .select_from(Consultation)
                .where(Consultation.id.in_(ids), Consultation.outcome.is_not(None))
            ).scalar_one()
            > 0
        )
    if cond == "offer_committed":
        reqs = {int(r.split(":")[1]) for r in refs if r.startswith("request:")}
        return (
            bool(reqs)
            and db.execute(
                select(func.count())
                .select_from(ResourceOffer)
                .where(
                    ResourceOffer.request_id.in_(reqs),
                    ResourceOffer.organisation_id == org_id,
                    ResourceOffer.committed_at.is_not(None),
                )
            ).scalar_one()
            > 0
        )
    if cond == "sitrep_published":
        return (
            run.crisis_id is not None
            and db.execute(
                select(func.count())
                .select_from(SituationReport)
                .where(SituationReport.crisis_id == run.crisis_id)
            ).scalar_one()
            > 0
        )
    if cond == "indicator_tlp_green":
        return (
            db.execute(
                select(func.count())
                .select_from(StixObject)
                .where(
                    StixObject.exercise_run_id == run.id,
                    StixObject.owner_org_id == org_id,
                    StixObject.type == "indicator",
                    StixObject.tlp <= int(TLP.GREEN),
                )
            ).scalar_one()
            > 0
        )
    return False


def evaluate(db: Session, run: ExerciseRun, *, now: datetime | None = None) -> list[Result]:
    """Every expectation of the run as it stands at ``now``."""
    at = _now(now)
    expectations = list(
        db.execute(
            select(ExerciseExpectation)
            .where(ExerciseExpectation.run_id == run.id)
            .order_by(ExerciseExpectation.number)
        ).scalars()
    )
    injects = {
        i.number: i
        for i in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars()
    }
    orgs = dict(db.execute(select(Organisation.id, Organisation.short_name)).all())
    run_refs: set[str] = set().union(*(_refs(i) for i in injects.values())) if injects else set()
    if run.crisis_id is not None:
        run_refs.add(f"crisis:{run.crisis_id}")
        run_refs |= {
            f"consultation:{c}"
            for c in db.execute(
                select(Consultation.id).where(Consultation.crisis_id == run.crisis_id)
            ).scalars()
        }
        run_refs |= {
            f"request:{r}"
            for r in db.execute(
                select(AssistanceRequest.id).where(AssistanceRequest.crisis_id == run.crisis_id)
            ).scalars()
        }
    events = {e.event for e in expectations}
    by_key: dict[tuple[str, str | None], list[AuditEntry]] = defaultdict(list)
    if events and run.started_at is not None:
        since = aware(run.started_at).strftime("%Y-%m-%dT%H:%M:%S")
        for entry in db.execute(
            select(AuditEntry)
            .where(
                AuditEntry.action.in_(sorted(events)),
                AuditEntry.at >= since,
                ~AuditEntry.actor.startswith(EXERCISE_ACTOR_PREFIX),
            )
            .order_by(AuditEntry.id)
        ).scalars():
            by_key[(entry.action, entry.organisation)].append(entry)
    # Indexes so each expectation reads only its candidates: by exact target, and by target kind.
    by_target: dict[tuple[str, str | None, str], list[AuditEntry]] = defaultdict(list)
    by_kind: dict[tuple[str, str | None], dict[str, list[AuditEntry]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (action, organisation), entries in by_key.items():
        for entry in entries:
            by_target[(action, organisation, entry.target)].append(entry)
            by_kind[(action, organisation)][_kind(entry.target)].append(entry)
    roles = {}
    if any(e.role for e in expectations):
        names = {a.actor for v in by_key.values() for a in v}
        roles = (
            dict(db.execute(select(User.username, User.role).where(User.username.in_(names))).all())
            if names
            else {}
        )
    results = []
    for e in expectations:
        inj = injects.get(e.inject_number)
        org = orgs.get(e.org_id, "") if e.org_id else ""
        delivered = (
            aware(inj.delivered_at) if inj and inj.delivered_at and inj.status == "delivered" else None
        )
        deadline = delivered + timedelta(seconds=e.within_seconds) if delivered else None
        acted: datetime | None = None
        if inj is None or inj.status in ("skipped", "failed"):
            computed = "void"
        elif delivered is None or deadline is None:
            computed = "missed" if run.status in ("ended", "reviewed") else "pending"
        else:
            refs = _refs(inj)
            kinds = {_kind(r) for r in refs}
            # about what this inject created when it created that kind of thing, else about the run
            candidates = [x for r in refs for x in by_target.get((e.event, org, r), [])]
            for kind, entries in by_kind.get((e.event, org), {}).items():
                if kind not in kinds:
                    candidates += [x for x in entries if x.target in run_refs]
            for entry in sorted(candidates, key=lambda x: x.id):
                when = _ts(entry.at)
                if when < delivered:
                    continue
                if e.role and roles.get(entry.actor) != e.role:
                    continue
                acted = when
                break
            if acted is not None and e.condition and not _condition(db, run, inj, e.org_id or 0, e.condition):
                acted = None
            if acted is not None:
                computed = "met" if acted <= deadline else "late"
            elif at > deadline or run.status in ("ended", "reviewed"):
                computed = "missed"
            else:
                computed = "pending"
        results.append(
            Result(
                number=e.number, inject_number=e.inject_number, objective=e.objective, event=e.event, org=org,
                role=e.role, weight=e.weight, delivered_at=delivered, deadline=deadline, acted_at=acted,
                computed=computed, status=e.override or computed, override_reason=e.override_reason,
            )
        )  # fmt: skip
    return results


def _pct(rs: list[Result]) -> float | None:
    decided = [r for r in rs if r.status in VALUE]
    total = sum(r.weight for r in decided)
    return round(100 * sum(r.weight * VALUE[r.status] for r in decided) / total, 1) if total else None


def _secs(values: list[float]) -> float | None:
    return round(mean(values), 1) if values else None


def summary(db: Session, run: ExerciseRun, *, now: datetime | None = None) -> dict[str, Any]:
    """Scores per action, objective, organisation and run; time-to-acknowledge and time-to-act."""
    results = evaluate(db, run, now=now)
    sc = frozen(run)
    objectives: list[dict[str, Any]] = []
    for o in sc.objectives:
        rs = [r for r in results if r.objective == o.key]
        objectives.append({"key": o.key, "title_en": o.title.en, "title_ru": o.title.ru or o.title.en,
                           "weight": o.weight, "score": _pct(rs), "met": _pct(rs) is not None and (_pct(rs) or 0) >= 50})  # fmt: skip
    scored = [o for o in objectives if o["score"] is not None]
    if scored:
        run_score: float | None = round(
            sum(o["weight"] * o["score"] for o in scored) / sum(o["weight"] for o in scored), 1
        )
    else:
        run_score = _pct(results)
    injects = {
        i.id: i for i in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars()
    }
    acks: dict[int, datetime] = {}
    ack_org: dict[int, str | None] = {}
    if injects:
        for entry in db.execute(
            select(AuditEntry)
            .where(
                AuditEntry.action == "exercise.inject.acknowledge",
                AuditEntry.target.in_([f"exercise_inject:{i}" for i in injects]),
            )
            .order_by(AuditEntry.id)
        ).scalars():
            iid = int(entry.target.split(":")[1])
            acks.setdefault(iid, _ts(entry.at))
            ack_org.setdefault(iid, entry.organisation)
    by_number = {i.number: i for i in injects.values()}
    per_org: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"ack": [], "act": []})
    for iid, when in acks.items():
        inj = injects[iid]
        if inj.delivered_at and ack_org.get(iid):
            per_org[str(ack_org[iid])]["ack"].append((when - aware(inj.delivered_at)).total_seconds())
    for r in results:
        if r.acted_at and r.delivered_at:
            per_org[r.org]["act"].append((r.acted_at - r.delivered_at).total_seconds())
    orgs = []
    for name in sorted({r.org for r in results} | set(per_org)):
        rs = [r for r in results if r.org == name]
        counts = {k: sum(1 for r in rs if r.status == k) for k in ("met", "late", "missed", "pending")}
        orgs.append({"org": name, "score": _pct(rs), **counts,
                     "time_to_acknowledge_s": _secs(per_org[name]["ack"]), "time_to_act_s": _secs(per_org[name]["act"])})  # fmt: skip
    return {
        "run_id": run.id,
        "status": run.status,
        "score": run_score,
        "counts": {
            k: sum(1 for r in results if r.status == k) for k in ("met", "late", "missed", "pending", "void")
        },
        "actions": [r.to_dict() for r in results],
        "objectives": objectives,
        "organisations": orgs,
        "injects": {
            "total": len(by_number),
            "delivered": sum(1 for i in by_number.values() if i.status == "delivered"),
        },
    }


def override(
    db: Session, *, actor: Actor, run_id: int, number: int, status: str | None, reason: str
) -> ExerciseExpectation:
    """An umpire sets (or clears, with ``status=None``) the result of one expected action."""
    require_centre(db, actor, doing="umpire exercises")
    if status is not None and status not in VALUE:
        raise InvalidInput("status is one of met, late, missed (or empty to clear)")
    if status is not None and not reason.strip():
        raise InvalidInput("an override needs a reason")
    e = db.execute(
        select(ExerciseExpectation).where(
            ExerciseExpectation.run_id == run_id, ExerciseExpectation.number == number
        )
    ).scalar_one_or_none()
    if e is None:
        raise NotFound(f"expectation {number} not found in run {run_id}")
    e.override = status
    e.override_reason = reason if status else ""
    e.override_by = actor.username if status else ""
    db.flush()
    audit.record(
        db, actor=actor, action="exercise.expectation.override", target=f"exercise_run:{run_id}",
        details={"number": number, "status": status, "reason": reason},
    )  # fmt: skip
    return e
