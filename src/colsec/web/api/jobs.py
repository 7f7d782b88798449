"""Background jobs over the JSON API: status and progress, read from the job table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from colsec.jobs import queue
from colsec.jobs.models import Job, JobStatus
from colsec.web.deps import ActorDep, DbDep

__all__ = ["live_progress", "router"]

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def live_progress(request: Request, job: Job) -> tuple[int, int | None] | None:
    """Counts the app's own worker holds for a running job (SQLite writes them only at its end)."""
    runner = getattr(request.app.state, "job_runner", None)
    return runner.live_progress(job.id) if runner is not None else None


@router.get("")
def list_jobs(
    db: DbDep,
    actor: ActorDep,
    kind: str | None = Query(default=None, max_length=60),
    status: JobStatus | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    """The newest jobs of the caller's organisation (every job for the node operator)."""
    jobs = queue.list_jobs(db, actor=actor, kind=kind, status=status.value if status else None, limit=limit)
    return {"jobs": [queue.to_dict(j) for j in jobs]}


@router.get("/{job_id}")
def get_job(request: Request, db: DbDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    job = queue.get(db, job_id, actor)
    return queue.to_dict(job, live_progress(request, job))
