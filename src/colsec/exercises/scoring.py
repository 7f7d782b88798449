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
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis.access import require_centre
from colsec.crisis.models import AssistanceRequest, Consultation
from colsec.crisis.states import aware
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.conditions import CONDITIONS, Facts
from colsec.exercises.models import ExerciseExpectation, ExerciseInject, ExerciseRun, ref, ref_id
from colsec.exercises.run import EXERCISE_ACTOR_PREFIX, _now, frozen
from colsec.store import audit
from colsec.store.models import AuditEntry

__all__ = ["CONDITIONS", "VALUE", "Result", "evaluate", "override", "summary"]

VALUE = {"met": 1.0, "late": 0.5, "missed": 0.0}


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
        d = {f: getattr(self, f) for f in _FIELDS}  # not ``asdict``: it deep-copies every value
        for k in ("delivered_at", "deadline", "acted_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


_FIELDS = tuple(f.name for f in fields(Result))


def _ts(text: str) -> datetime:
    return aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _kind(ref: str) -> str:
    return ref.split("--", 1)[0] + "--" if "--" in ref else ref.split(":", 1)[0]


def _ref_set(object_ref: str) -> set[str]:
    """What an inject created (none when its delivery failed: the reference is then the error)."""
    return set() if object_ref.startswith("error:") else {r for r in object_ref.split() if r}


@dataclass(frozen=True, slots=True)
class _Entry:
    """The audit columns scoring reads (never the details): who did what to which target, and when."""

    id: int
    when: datetime
    actor: str
    target: str


def _audit(db: Session, run: ExerciseRun, events: set[str]) -> dict[tuple[str, str | None], list[_Entry]]:
    """The run's candidate entries in one query, by (action, organisation), oldest first."""
    by_key: dict[tuple[str, str | None], list[_Entry]] = defaultdict(list)
    if not events or run.started_at is None:
        return by_key
    since = aware(run.started_at).strftime("%Y-%m-%dT%H:%M:%S")
    for id_, at, actor, organisation, action, target in db.execute(
        select(
            AuditEntry.id, AuditEntry.at, AuditEntry.actor, AuditEntry.organisation, AuditEntry.action,
            AuditEntry.target,
        )
        .where(
            AuditEntry.action.in_(sorted(events)),
            AuditEntry.at >= since,
            ~AuditEntry.actor.startswith(EXERCISE_ACTOR_PREFIX),
        )
        .order_by(AuditEntry.id)
    ):  # fmt: skip
        by_key[(action, organisation)].append(_Entry(id_, _ts(at), actor, target))
    return by_key


def evaluate(db: Session, run: ExerciseRun, *, now: datetime | None = None) -> list[Result]:
    """Every expectation of the run as it stands at ``now``.

    A fixed number of queries whatever the run's size (expectations, injects, audit entries,
    and the facts its conditions need); everything else is judged in memory.
    """
    at = _now(now)
    E = ExerciseExpectation
    expectations = db.execute(
        select(E.number, E.inject_number, E.objective, E.event, E.org_id, E.role, E.within_seconds,
               E.condition, E.weight, E.override, E.override_reason)
        .where(E.run_id == run.id)
        .order_by(E.number)
    ).all()  # fmt: skip
    I = ExerciseInject  # noqa: E741
    injects = {
        number: (status, delivered_at, object_ref)
        for number, status, delivered_at, object_ref in db.execute(
            select(I.number, I.status, I.delivered_at, I.object_ref).where(I.run_id == run.id)
        )
    }
    refs_of = {n: _ref_set(ref) for n, (_, _, ref) in injects.items()}
    orgs = dict(db.execute(select(Organisation.id, Organisation.short_name)).all())
    created: set[str] = set().union(*refs_of.values()) if refs_of else set()
    run_refs = set(created)
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
    by_key = _audit(db, run, {e.event for e in expectations})
    facts = Facts.load(
        db, run_id=run.id, crisis_id=run.crisis_id, refs=created, needed={e.condition for e in expectations}
    )
    # Indexes so each expectation reads only its candidates: by exact target, and by target kind.
    by_target: dict[tuple[str, str | None, str], list[_Entry]] = defaultdict(list)
    by_kind: dict[tuple[str, str | None], dict[str, list[_Entry]]] = defaultdict(lambda: defaultdict(list))
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
    over = run.status in ("ended", "reviewed")
    results = []
    for e in expectations:
        inj = injects.get(e.inject_number)
        org = orgs.get(e.org_id, "") if e.org_id else ""
        delivered = aware(inj[1]) if inj and inj[1] and inj[0] == "delivered" else None
        deadline = delivered + timedelta(seconds=e.within_seconds) if delivered else None
        acted: datetime | None = None
        if inj is None or inj[0] in ("skipped", "failed"):
            computed = "void"
        elif delivered is None or deadline is None:
            computed = "missed" if over else "pending"
        else:
            refs = refs_of[e.inject_number]
            kinds = {_kind(r) for r in refs}
            # about what this inject created when it created that kind of thing, else about the run
            candidates = [x for r in refs for x in by_target.get((e.event, org, r), ())]
            for kind, entries in by_kind.get((e.event, org), {}).items():
                if kind not in kinds:
                    candidates += [x for x in entries if x.target in run_refs]
            candidates.sort(key=lambda x: x.id)
            for entry in candidates:
                if entry.when < delivered:
                    continue
                if e.role and roles.get(entry.actor) != e.role:
                    continue
                acted = entry.when
                break
            if (
                acted is not None
                and e.condition
                and not facts.holds(e.condition, refs=refs, org_id=e.org_id or 0)
            ):
                acted = None
            if acted is not None:
                computed = "met" if acted <= deadline else "late"
            elif at > deadline or over:
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
    I = ExerciseInject  # noqa: E741
    injects = {
        id_: (status, delivered_at)
        for id_, status, delivered_at in db.execute(
            select(I.id, I.status, I.delivered_at).where(I.run_id == run.id)
        )
    }
    acks: dict[int, tuple[str, str | None]] = {}  # inject id -> the first acknowledgement (when, by whom)
    if injects:
        for target, at, organisation in db.execute(
            select(AuditEntry.target, AuditEntry.at, AuditEntry.organisation)
            .where(
                AuditEntry.action == "exercise.inject.acknowledge",
                AuditEntry.target.in_([ref(ExerciseInject, i) for i in injects]),
            )
            .order_by(AuditEntry.id)
        ):
            acks.setdefault(ref_id(target), (at, organisation))
    per_org: dict[str, dict[str, list[float]]] = defaultdict(lambda: {"ack": [], "act": []})
    for iid, (when, ack_org) in acks.items():
        delivered_at = injects[iid][1]
        if delivered_at and ack_org:
            per_org[ack_org]["ack"].append((_ts(when) - aware(delivered_at)).total_seconds())
    by_org: dict[str, list[Result]] = defaultdict(list)
    for r in results:
        by_org[r.org].append(r)
        if r.acted_at and r.delivered_at:
            per_org[r.org]["act"].append((r.acted_at - r.delivered_at).total_seconds())
    orgs = []
    for name in sorted(set(by_org) | set(per_org)):
        rs = by_org.get(name, [])
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
            "total": len(injects),
            "delivered": sum(1 for status, _ in injects.values() if status == "delivered"),
        },
    }


def override(
    db: Session, *, actor: Actor, run_id: int, number: int, status: str | None, reason: str
) -> ExerciseExpectation:
    """An umpire sets (or clears, with ``status=None``) the result of one expected action."""
    require_centre(db, actor, doing="umpire exercises")
    if status is not None and status not in VALUE:
        raise InvalidInput("status is one of met, late, missed (or empty to clear)", kind="override_status")
    if status is not None and not reason.strip():
        raise InvalidInput("an override needs a reason", kind="override_needs_reason")
    e = db.execute(
        select(ExerciseExpectation).where(
            ExerciseExpectation.run_id == run_id, ExerciseExpectation.number == number
        )
    ).scalar_one_or_none()
    if e is None:
        raise NotFound(
            f"expectation {number} not found in run {run_id}",
            kind="expectation_not_found",
            params={"expectation": number},
        )
    e.override = status
    e.override_reason = reason if status else ""
    e.override_by = actor.username if status else ""
    db.flush()
    audit.record(
        db, actor=actor, action="exercise.expectation.override", target=ref(ExerciseRun, run_id),
        details={"number": number, "status": status, "reason": reason},
    )  # fmt: skip
    return e
