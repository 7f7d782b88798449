"""A run: its lifecycle and its clock.

The clock is stored, not kept in memory: ``due_at = start + offset / speed``; pausing stops
nothing, resuming pushes every pending ``due_at`` by the pause, a new speed rescales what is
left.  Every function takes ``now=`` so tests drive the clock.  What an inject creates is in
``payloads.py``, the pass that sends due injects in ``delivery.py``; every change of the clock
here wakes that pass (``clock.wake``).  Deleting a run removes everything it created.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import Actor
from colsec.crisis.access import require_centre
from colsec.crisis.models import (
    AssistanceRequest,
    CapAlert,
    Consultation,
    Crisis,
    Incident,
    Notification,
)
from colsec.crisis.states import aware
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.clock import wake
from colsec.exercises.models import ExerciseExpectation, ExerciseInject, ExerciseNote, ExerciseRun, ref
from colsec.exercises.scenario import Inject, Scenario, get_scenario, model_of
from colsec.outbox import OutboxMessage
from colsec.store import audit
from colsec.store.models import StixObject

__all__ = [
    "EXERCISE_ACTOR_PREFIX",
    "add_inject",
    "add_note",
    "create_run",
    "delete_run",
    "get_run",
    "list_runs",
    "move",
    "participant_org_ids",
    "set_speed",
]

EXERCISE_ACTOR_PREFIX = "exercise-"

# target state -> states it may be reached from
RUN: dict[str, tuple[str, ...]] = {
    "running": ("scheduled", "paused"),
    "paused": ("running",),
    "ended": ("running", "paused"),
    "reviewed": ("ended",),
}


def _now(now: datetime | None) -> datetime:
    return aware(now) if now is not None else datetime.now(UTC)


def get_run(db: Session, *, run_id: int) -> ExerciseRun:
    run = db.get(ExerciseRun, run_id)
    if run is None:
        raise NotFound(f"exercise run {run_id} not found", kind="run_not_found", params={"run": run_id})
    return run


def list_runs(db: Session) -> list[ExerciseRun]:
    return list(db.execute(select(ExerciseRun).order_by(ExerciseRun.id.desc())).scalars())


def _orgs(db: Session, names: set[str]) -> dict[str, Organisation]:
    if not names:
        return {}
    found = {
        o.short_name: o
        for o in db.execute(select(Organisation).where(Organisation.short_name.in_(names))).scalars()
    }
    missing = sorted(names - set(found))
    if missing:
        raise InvalidInput(
            f"unknown organisation(s) in the scenario: {', '.join(missing)}",
            kind="scenario_unknown_organisations",
            params={"orgs": ", ".join(missing)},
        )
    return found


def _inject_rows(db: Session, run: ExerciseRun, sc: Scenario, injects: list[Inject]) -> None:
    names = {p.org for p in sc.participants}
    names |= {i.target.org for i in injects if i.target.org and i.target.org != "*"}
    names |= {e.org for i in injects for e in i.expects if e.org}
    orgs = _orgs(db, names)
    for i in injects:
        if (
            i.target.user
            and db.execute(select(User.id).where(User.username == i.target.user.lower())).scalar() is None
        ):
            raise InvalidInput(
                f"inject {i.number}: unknown user {i.target.user!r}",
                kind="inject_unknown_user",
                params={"inject": i.number, "user": i.target.user},
            )
        target_org = orgs[i.target.org].id if i.target.org and i.target.org != "*" else None
        db.add(
            ExerciseInject(
                run_id=run.id, number=i.number, offset_seconds=i.offset,
                after_inject=i.after.inject if i.after else None,
                after_expectation=i.after.expectation if i.after else None,
                condition=i.after.condition.value if i.after else "",
                channel=i.channel.value, target_org_id=target_org, target_role=i.target.role,
                target_user=i.target.user.lower(), title=i.title,
                content=orjson.dumps({"type": i.type, "content": i.content, "params": i.params}).decode(),
                status="pending", adhoc=False,
            )
        )  # fmt: skip
        for e in i.expects:
            org = orgs[e.org].id if e.org else target_org
            if org is None:
                raise InvalidInput(
                    f"expectation {e.number}: name the organisation expected to act",
                    kind="expectation_needs_organisation",
                    params={"expectation": e.number},
                )
            db.add(
                ExerciseExpectation(
                    run_id=run.id, number=e.number, inject_number=i.number, objective=e.objective,
                    event=e.event, org_id=org, role=e.role, within_seconds=e.within,
                    condition=e.condition, weight=e.weight,
                )
            )  # fmt: skip


def create_run(
    db: Session,
    *,
    actor: Actor,
    scenario_id: int,
    name: str | None = None,
    speed: float = 1.0,
    scheduled_start: datetime | None = None,
) -> ExerciseRun:
    """Schedule a run of a scenario; the run keeps a frozen copy, later edits do not reach it."""
    require_centre(db, actor, doing="run exercises")
    if not 0.01 <= speed <= 3600:
        raise InvalidInput("speed must be between 0.01 and 3600", kind="speed_range")
    row = get_scenario(db, scenario_id=scenario_id)
    sc = model_of(row)
    run = ExerciseRun(
        scenario_id=row.id, name=(name or sc.name)[:120], frozen=row.document, status="scheduled", speed=speed,
        scheduled_start=scheduled_start, created_by=actor.username, controller_org_id=actor.org_id,
    )  # fmt: skip
    db.add(run)
    db.flush()
    _inject_rows(db, run, sc, sc.injects)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exercise.run.create",
        target=ref(ExerciseRun, run.id),
        details={"scenario": row.id},
    )
    return run


def frozen(run: ExerciseRun) -> Scenario:
    return Scenario.model_validate_json(run.frozen)


def _shift_pending(db: Session, run: ExerciseRun, fn: Callable[[datetime], datetime]) -> None:
    for inj in db.execute(
        select(ExerciseInject).where(
            ExerciseInject.run_id == run.id,
            ExerciseInject.status == "pending",
            ExerciseInject.due_at.is_not(None),
        )
    ).scalars():
        assert inj.due_at is not None
        inj.due_at = fn(aware(inj.due_at))


def move(db: Session, *, actor: Actor, run_id: int, to: str, now: datetime | None = None) -> ExerciseRun:
    """scheduled → running ⇄ paused → ended → reviewed; pausing and resuming move pending injects."""
    require_centre(db, actor, doing="control exercises")
    at = _now(now)
    run = get_run(db, run_id=run_id)
    if to not in RUN:
        raise InvalidInput(f"unknown state {to!r}; one of {', '.join(RUN)}", kind="unknown_step")
    if run.status not in RUN[to]:
        from colsec.crisis.errors import InvalidTransition

        raise InvalidTransition(
            f"exercise run {run.id} is '{run.status}': cannot move to '{to}'", kind="run_step_not_now"
        )
    if to == "running" and run.status == "scheduled":
        run.started_at = at
        for inj in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars():
            if inj.offset_seconds is not None and inj.after_inject is None and inj.after_expectation is None:
                inj.due_at = at + timedelta(seconds=inj.offset_seconds / run.speed)
    elif to == "running":  # resume: everything still pending moves by the length of the pause
        paused = at - aware(run.paused_at) if run.paused_at else timedelta(0)
        _shift_pending(db, run, lambda d: d + paused)
        run.paused_at = None
    elif to == "paused":
        run.paused_at = at
    elif to == "ended":
        run.ended_at = at
        run.paused_at = None
    elif to == "reviewed":
        run.reviewed_at = at
    run.status = to
    db.flush()
    wake(db, run)
    audit.record(db, actor=actor, action=f"exercise.run.{to}", target=ref(ExerciseRun, run.id))
    return run


def set_speed(
    db: Session, *, actor: Actor, run_id: int, speed: float, now: datetime | None = None
) -> ExerciseRun:
    """Run the clock ×``speed``: what is left of every pending offset is rescaled from now."""
    require_centre(db, actor, doing="control exercises")
    if not 0.01 <= speed <= 3600:
        raise InvalidInput("speed must be between 0.01 and 3600", kind="speed_range")
    run = get_run(db, run_id=run_id)
    at = aware(run.paused_at) if run.paused_at else _now(now)
    ratio = run.speed / speed
    _shift_pending(db, run, lambda d: at + (d - at) * ratio if d > at else d)
    run.speed = speed
    db.flush()
    wake(db, run)
    audit.record(
        db,
        actor=actor,
        action="exercise.run.speed",
        target=ref(ExerciseRun, run.id),
        details={"speed": speed},
    )
    return run


def add_inject(
    db: Session, *, actor: Actor, run_id: int, inject: Inject, now: datetime | None = None
) -> ExerciseInject:
    """A controller's ad-hoc inject; its offset counts from now (not from the start)."""
    require_centre(db, actor, doing="add injects")
    run = get_run(db, run_id=run_id)
    if run.status not in ("scheduled", "running", "paused"):
        raise InvalidInput(
            f"exercise run {run.id} is '{run.status}': no new injects", kind="run_no_new_injects"
        )
    taken = db.execute(
        select(ExerciseInject.id).where(
            ExerciseInject.run_id == run.id, ExerciseInject.number == inject.number
        )
    ).scalar()
    if taken is not None:
        raise InvalidInput(
            f"inject {inject.number} exists in this run",
            kind="inject_exists",
            params={"inject": inject.number},
        )
    _inject_rows(db, run, frozen(run), [inject])
    db.flush()
    row = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == inject.number)
    ).scalar_one()
    row.adhoc = True
    if (
        run.status != "scheduled"
        and row.offset_seconds is not None
        and row.after_inject is None
        and row.after_expectation is None
    ):
        base = aware(run.paused_at) if run.paused_at else _now(now)
        row.due_at = base + timedelta(seconds=row.offset_seconds / run.speed)
    db.flush()
    wake(db, run)
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.add",
        target=ref(ExerciseRun, run.id),
        details={"number": inject.number},
    )
    return row


def add_note(
    db: Session, *, actor: Actor, run_id: int, text: str, kind: str = "note", owner: str = ""
) -> ExerciseNote:
    require_centre(db, actor, doing="write exercise notes")
    if kind not in ("note", "worked", "failed", "recommendation"):
        raise InvalidInput("kind is one of note, worked, failed, recommendation", kind="note_kind")
    if not text.strip():
        raise InvalidInput("a note has text", kind="note_empty")
    if kind == "recommendation" and not owner.strip():
        raise InvalidInput("a recommendation names its owner", kind="recommendation_needs_owner")
    run = get_run(db, run_id=run_id)
    note = ExerciseNote(run_id=run.id, kind=kind, text=text, owner=owner, author=actor.username)
    db.add(note)
    db.flush()
    return note


# --- delivery -------------------------------------------------------------------------------------------


def participant_org_ids(db: Session, run: ExerciseRun) -> list[int]:
    names = _participants(run.frozen)
    if not names:
        return []
    return sorted(db.execute(select(Organisation.id).where(Organisation.short_name.in_(names))).scalars())


@lru_cache(maxsize=32)
def _participants(document: str) -> tuple[str, ...]:
    """The participants of a frozen scenario, parsed once per document (it may hold thousands of
    injects and is asked on every delivery and acknowledgement; keyed by the text, never stale)."""
    return tuple(sorted({str(p["org"]) for p in orjson.loads(document).get("participants", [])}))


# --- deletion -------------------------------------------------------------------------------------------


def delete_run(db: Session, *, actor: Actor, run_id: int) -> dict[str, int]:
    """Delete a run and everything it created (the audit log keeps its record)."""
    require_centre(db, actor, doing="delete exercise runs")
    run = get_run(db, run_id=run_id)
    counts: dict[str, int] = {}

    def gone(name: str, stmt: Any) -> None:
        result: Any = db.execute(stmt.execution_options(synchronize_session=False))
        counts[name] = int(result.rowcount)

    notes = select(Notification.id).where(Notification.exercise_run_id == run.id)
    keys = [f"notification:{n}:email" for n in db.execute(notes).scalars()]
    for i in range(0, len(keys), 500):
        db.execute(delete(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys[i : i + 500])))
    gone("outbox", delete(OutboxMessage).where(OutboxMessage.idempotency_key.like(f"exercise:{run.id}:%")))
    gone("notifications", delete(Notification).where(Notification.exercise_run_id == run.id))
    gone("cap_alerts", delete(CapAlert).where(CapAlert.exercise_run_id == run.id))
    gone("consultations", delete(Consultation).where(Consultation.exercise_run_id == run.id))
    gone("requests", delete(AssistanceRequest).where(AssistanceRequest.exercise_run_id == run.id))
    gone("incidents", delete(Incident).where(Incident.exercise_run_id == run.id))
    gone("crises", delete(Crisis).where(Crisis.exercise_run_id == run.id))
    gone("stix_objects", delete(StixObject).where(StixObject.exercise_run_id == run.id))
    db.delete(run)
    db.flush()
    audit.record(
        db, actor=actor, action="exercise.run.delete", target=ref(ExerciseRun, run_id), details=counts
    )
    return counts
