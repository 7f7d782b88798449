"""Putting work on the queue and reading it back.

``enqueue`` writes into the caller's session and never commits: the job exists exactly
when the change that causes it commits (an import's upload, a TAXII status, a crisis
change), never a job for a rolled-back request nor a change without its job.
A job is visible to the organisation that started it and to the node operator.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, false, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor, Role
from colsec.db import is_sqlite
from colsec.db_base import utcnow
from colsec.errors import NotFound
from colsec.jobs.models import Job, JobBlob, JobStatus

__all__ = [
    "actor_from_payload",
    "actor_payload",
    "blob",
    "enqueue",
    "enqueue_once",
    "get",
    "list_jobs",
    "record_done",
    "to_dict",
]

_UNFINISHED = text("finished_at IS NULL")


def actor_payload(actor: Actor) -> dict[str, Any]:
    """Who started the job, as JSON: the handler acts as that caller, with the same rights."""
    return {
        "username": actor.username,
        "role": actor.role.value,
        "org_id": actor.org_id,
        "org_short_name": actor.org_short_name,
        "user_id": actor.user_id,
        "language": actor.language,
        "node_operator": actor.node_operator,
    }


def actor_from_payload(data: Mapping[str, Any]) -> Actor:
    return Actor(
        username=str(data["username"]),
        role=Role(data["role"]),
        org_id=data.get("org_id"),
        org_short_name=data.get("org_short_name"),
        user_id=data.get("user_id"),
        language=str(data.get("language") or "en"),
        node_operator=bool(data.get("node_operator")),
    )


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: Mapping[str, Any],
    actor: Actor,
    dedupe_key: str | None = None,
    run_after: datetime | None = None,
    max_attempts: int = 3,
    data: bytes | None = None,
    job_id: str | None = None,
) -> Job:
    """Queue a job in the caller's transaction; with ``dedupe_key``, the unfinished job of that key wins.

    ``data`` is the job's input bytes (stored in ``job_blob``, read by the handler with ``blob``);
    ``job_id`` lets a resource share its job's id (a TAXII status and the job that completes it).
    """
    job_id = job_id or str(uuid.uuid4())
    now = utcnow()
    values: dict[str, Any] = {
        "id": job_id,
        "kind": kind,
        "payload": {**payload, "actor": actor_payload(actor)},
        "org_id": actor.org_id,
        "username": actor.username,
        "status": JobStatus.QUEUED.value,
        "attempts": 0,
        "max_attempts": max(1, max_attempts),
        "run_after": run_after or now,
        "processed": 0,
        "dedupe_key": dedupe_key,
        "created_at": now,
    }
    insert = sqlite_insert if is_sqlite(session) else pg_insert
    stmt = insert(Job).values(**values)
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"], index_where=_UNFINISHED)
    inserted = session.execute(stmt.returning(Job.id)).scalar_one_or_none()
    if inserted is None:
        return session.execute(
            select(Job).where(Job.dedupe_key == dedupe_key, Job.finished_at.is_(None))
        ).scalar_one()
    if data is not None:
        session.add(JobBlob(job_id=job_id, data=data))
        session.flush()
    job = session.get(Job, job_id)
    assert job is not None
    return job


def record_done(
    session: Session, *, kind: str, payload: Mapping[str, Any], actor: Actor, result: Mapping[str, Any]
) -> Job:
    """A job for work already done in the caller's transaction (so its outcome reads like any other)."""
    job = enqueue(session, kind=kind, payload=payload, actor=actor, max_attempts=1)
    now = utcnow()
    job.status = JobStatus.SUCCEEDED.value
    job.result = dict(result)
    job.started_at = job.finished_at = now
    session.flush()
    return job


def enqueue_once(session: Session, *, kind: str, key: str, actor: Actor, **kw: Any) -> Job | None:
    """Queue a job whose key was never used, finished or not (a schedule's period); None if it was."""
    if session.execute(select(exists().where(Job.dedupe_key == key))).scalar():
        return None
    return enqueue(session, kind=kind, payload=kw.pop("payload", {}), actor=actor, dedupe_key=key, **kw)


def _visible(job: Job | None, actor: Actor) -> bool:
    if job is None:
        return False
    return actor.is_operator or (job.org_id is not None and job.org_id == actor.org_id)


def get(session: Session, job_id: str, actor: Actor) -> Job:
    job = session.get(Job, job_id)
    if not _visible(job, actor):
        # another organisation's job is not disclosed
        raise NotFound(f"job {job_id} not found", kind="job_not_found", params={"job": job_id})
    assert job is not None
    return job


def list_jobs(
    session: Session,
    *,
    actor: Actor,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 50,
) -> list[Job]:
    """The newest jobs the caller may see."""
    stmt = select(Job).order_by(Job.created_at.desc(), Job.id).limit(max(1, min(limit, 500)))
    if not actor.is_operator:
        stmt = stmt.where(Job.org_id == actor.org_id) if actor.org_id is not None else stmt.where(false())
    if kind:
        stmt = stmt.where(Job.kind == kind)
    if status:
        stmt = stmt.where(Job.status == status)
    return list(session.execute(stmt).scalars())


def blob(session: Session, job_id: str) -> bytes:
    row = session.get(JobBlob, job_id)
    if row is None:
        raise NotFound(f"the input of job {job_id} is gone")
    return bytes(row.data)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def to_dict(job: Job, live: tuple[int, int | None] | None = None) -> dict[str, Any]:
    """The public view of a job (never its payload: it may hold another caller's input).

    ``live`` is progress the worker running the job holds but could not write yet.
    """
    processed, total = job.processed, job.total
    if live is not None and job.status == JobStatus.RUNNING.value:
        processed, total = max(processed, live[0]), live[1] if live[1] is not None else total
    return {
        "id": job.id,
        "kind": job.kind,
        "status": job.status,
        "username": job.username,
        "attempts": job.attempts,
        "max_attempts": job.max_attempts,
        "processed": processed,
        "total": total,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "heartbeat_at": _iso(job.heartbeat_at),
        "result": job.result,
        "error": job.error,
    }
