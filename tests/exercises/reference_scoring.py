"""The scoring as first written, one query per expectation's condition: the oracle batched scoring must equal.

Kept verbatim from before scoring read its facts once per run; only the test imports it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.crisis.models import AssistanceRequest, Consultation, Position, ResourceOffer, SituationReport
from colsec.crisis.states import aware
from colsec.exercises.models import ExerciseExpectation, ExerciseInject, ExerciseRun
from colsec.exercises.run import EXERCISE_ACTOR_PREFIX, _now
from colsec.exercises.scoring import Result
from colsec.stix.tlp import TLP
from colsec.store.models import AuditEntry, StixObject


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
    """Every expectation of the run at ``now``, each condition asked by its own query."""
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
