"""Background jobs over the JSON API: status and progress, read from the job table."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from colsec.jobs import queue
from colsec.jobs.models import JobStatus
from colsec.web.deps import ActorDep, DbDep

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


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
def get_job(db: DbDep, actor: ActorDep, job_id: str) -> dict[str, Any]:
    return queue.to_dict(queue.get(db, job_id, actor))
