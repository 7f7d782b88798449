"""When the next delivery pass runs: the job kind and ``wake``.

Kept apart from the lifecycle (``run.py``) and the pass (``delivery.py``) because both need it:
starting, resuming, re-timing or adding to a run wakes the pass at its next due inject, and the
pass wakes itself for the one after; this module imports neither of them.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.crisis.states import aware
from colsec.exercises.models import ExerciseInject, ExerciseRun
from colsec.jobs import queue

__all__ = ["DELIVER_KIND", "DELIVER_SECONDS", "wake"]

DELIVER_KIND = "exercise.deliver"
DELIVER_SECONDS = 1.0  # the periodic pass: dependencies; timed injects are woken by ``wake``


def wake(db: Session, run: ExerciseRun) -> None:
    """Queue a delivery pass at the run's next due inject, so it goes out then, not a period later.

    The periodic pass stays the safety net (dependencies that come due through members'
    actions); this timed job is what keeps the lag near the job runner's poll interval.
    One job per instant, whichever run asks for it: a pass delivers every running run.
    """
    if run.status != "running":
        return
    nxt = db.execute(
        select(func.min(ExerciseInject.due_at)).where(
            ExerciseInject.run_id == run.id,
            ExerciseInject.status == "pending",
            ExerciseInject.due_at.is_not(None),
        )
    ).scalar()
    if nxt is None:
        return
    due = aware(nxt)
    stamp = due.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    queue.enqueue_once(
        db,
        kind=DELIVER_KIND,
        key=f"schedule:{DELIVER_KIND}:{stamp}",
        actor=SYSTEM,
        run_after=due,
        max_attempts=1,
    )
