"""The delivery pass: due injects go out, dependent injects fall due or are skipped.

Delivery is one durable job kind (``clock.DELIVER_KIND``): each pass delivers the injects whose
wall-clock ``due_at`` has come and resolves dependencies.  A pass runs periodically
(``colsec.job_wiring``) and, queued by ``clock.wake`` with ``run_after``, at a run's next due
inject, so an inject goes out within the job runner's poll interval of its time.  A payload that
fails marks its inject failed, visibly, without stopping the pass.  The controller's
``deliver_now`` and a participant's ``acknowledge`` act on one inject and live here too.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.crisis.access import require_centre
from colsec.db import Database
from colsec.errors import InvalidInput, NotFound
from colsec.exercises.clock import wake
from colsec.exercises.models import ExerciseInject, ExerciseRun, ref
from colsec.exercises.payloads import Delivery, create_payload, exercise_context
from colsec.exercises.run import _now, get_run, participant_org_ids
from colsec.jobs.runner import JobContext
from colsec.store import audit

__all__ = [
    "AlreadyDelivered",
    "Delivery",
    "acknowledge",
    "deliver_due",
    "deliver_now",
    "deliver_pass",
    "run_deliver",
]

_NODE = Delivery()  # the default: CAP alerts sent as "colsec"


def _deliver_one(
    db: Session,
    run: ExerciseRun,
    inj: ExerciseInject,
    at: datetime,
    how: Delivery,
    memo: dict[Any, Any] | None = None,
) -> None:
    try:
        with db.begin_nested(), exercise_context(db, run):
            refs = create_payload(db, run, inj, at, how, {} if memo is None else memo)
    except Exception as err:  # a bad payload fails its inject, visibly, not the whole pass
        inj.status = "failed"
        inj.delivered_at = at
        inj.object_ref = f"error: {err}"[:200]
        return
    inj.status = "delivered"
    inj.delivered_at = at
    inj.object_ref = " ".join(refs)[:200]


def _resolve(db: Session, run: ExerciseRun, at: datetime) -> None:
    """Dependent injects: due when their condition holds, skipped when it no longer can."""
    from colsec.exercises.scoring import evaluate

    waiting = list(
        db.execute(
            select(ExerciseInject).where(
                ExerciseInject.run_id == run.id,
                ExerciseInject.status == "pending",
                ExerciseInject.due_at.is_(None),
                (ExerciseInject.after_inject.is_not(None)) | (ExerciseInject.after_expectation.is_not(None)),
            )
        ).scalars()
    )
    if not waiting:
        return
    results = {r.number: r for r in evaluate(db, run, now=at)}
    injects = {
        i.number: i
        for i in db.execute(select(ExerciseInject).where(ExerciseInject.run_id == run.id)).scalars()
    }
    for inj in waiting:
        holds: bool | None = None  # None: not decided yet
        if inj.after_expectation is not None:
            r = results.get(inj.after_expectation)
            status = r.status if r else "missed"
            want_missed = inj.condition == "missed"
            if status in ("met", "late"):
                holds = not want_missed
            elif status == "missed":
                holds = want_missed
        elif inj.after_inject is not None:
            ref = injects.get(inj.after_inject)
            mine = [r for r in results.values() if r.inject_number == inj.after_inject]
            if ref is None or ref.status in ("failed", "skipped"):
                holds = inj.condition == "missed"
            elif ref.status == "delivered" and not mine:
                holds = inj.condition == "answered"
            elif any(r.status in ("met", "late") for r in mine):
                holds = inj.condition == "answered"
            elif mine and all(r.status == "missed" for r in mine):
                holds = inj.condition == "missed"
        if holds is True:
            inj.due_at = at + timedelta(seconds=(inj.offset_seconds or 0) / run.speed)
        elif holds is False:
            inj.status = "skipped"


def deliver_due(
    db: Session, *, now: datetime | None = None, how: Delivery = _NODE, run_id: int | None = None
) -> int:
    """Deliver every due inject of running runs (oldest first); returns how many were delivered."""
    at = _now(now)
    stmt = select(ExerciseRun).where(ExerciseRun.status == "running")
    if run_id is not None:
        stmt = stmt.where(ExerciseRun.id == run_id)
    count = 0
    memo: dict[Any, Any] = {}  # recipients looked up once per pass
    for run in db.execute(stmt).scalars().all():
        for _ in range(20):  # dependencies may become due in the same pass
            _resolve(db, run, at)
            db.flush()  # sessions here do not autoflush
            due = list(
                db.execute(
                    select(ExerciseInject)
                    .where(
                        ExerciseInject.run_id == run.id,
                        ExerciseInject.status == "pending",
                        ExerciseInject.due_at <= at,
                    )
                    .order_by(ExerciseInject.due_at, ExerciseInject.number)
                ).scalars()
            )
            if not due:
                break
            for inj in due:
                _deliver_one(db, run, inj, at, how, memo)
                count += 1
            db.flush()
        wake(db, run)
    return count


class AlreadyDelivered(InvalidInput):
    """The inject went out before this ask (the run's clock, or another controller): the page a
    controller clicked on was stale, and what was asked for is done."""


def deliver_now(
    db: Session,
    *,
    actor: Actor,
    run_id: int,
    number: int,
    now: datetime | None = None,
    how: Delivery = _NODE,
) -> ExerciseInject:
    """Deliver one pending inject immediately, paused or not."""
    require_centre(db, actor, doing="deliver injects")
    run = get_run(db, run_id=run_id)
    if run.status not in ("running", "paused"):
        raise InvalidInput(
            f"exercise run {run.id} is '{run.status}': injects are delivered while it runs",
            kind="deliver_while_running",
        )
    inj = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == number)
    ).scalar_one_or_none()
    if inj is None:
        raise NotFound(
            f"inject {number} not found in run {run.id}", kind="inject_not_found", params={"inject": number}
        )
    if inj.status == "delivered":
        raise AlreadyDelivered(
            f"inject {number} is 'delivered'", kind="inject_delivered", params={"inject": number}
        )
    if inj.status != "pending":
        raise InvalidInput(
            f"inject {number} is '{inj.status}'", kind="inject_not_pending", params={"inject": number}
        )
    _deliver_one(db, run, inj, _now(now), how)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.deliver_now",
        target=ref(ExerciseRun, run.id),
        details={"number": number},
    )
    return inj


def acknowledge(db: Session, *, actor: Actor, run_id: int, number: int) -> ExerciseInject:
    """A participant acknowledges an inject (the start of its time-to-acknowledge)."""
    run = get_run(db, run_id=run_id)
    inj = db.execute(
        select(ExerciseInject).where(ExerciseInject.run_id == run.id, ExerciseInject.number == number)
    ).scalar_one_or_none()
    if inj is None or inj.status != "delivered" or not _addressed(db, run, inj, actor):
        raise NotFound(
            f"inject {number} not found in run {run.id}", kind="inject_not_found", params={"inject": number}
        )
    audit.record(
        db,
        actor=actor,
        action="exercise.inject.acknowledge",
        target=ref(ExerciseInject, inj.id),
        details={"run": run.id},
    )
    return inj


def _addressed(db: Session, run: ExerciseRun, inj: ExerciseInject, actor: Actor) -> bool:
    if inj.target_user:
        return actor.username == inj.target_user
    orgs = [inj.target_org_id] if inj.target_org_id else participant_org_ids(db, run)
    return actor.org_id in orgs


def run_deliver(ctx: JobContext, *, node_name: str) -> dict[str, Any]:
    """The periodic job (``Schedule(DELIVER_KIND, DELIVER_SECONDS)``)."""
    return {"delivered": deliver_pass(ctx.database, node_name=node_name)}


def deliver_pass(database: Database, *, node_name: str, now: datetime | None = None) -> int:
    with database.unit_of_work() as s:
        if (
            s.execute(
                select(func.count()).select_from(ExerciseRun).where(ExerciseRun.status == "running")
            ).scalar_one()
            == 0
        ):
            return 0
        return deliver_due(s, now=now, how=Delivery(node_name=node_name))
