"""A job's lease on its row: claiming, heartbeats, completion, and the reaping of lost leases.

Every change of a job's state by a worker is here, each in its own short write transaction
and each guarded by the lease (owner and attempt), so a worker whose lease was taken over
can never overwrite the new owner's outcome.  The runner decides *what* runs and when;
this module only moves rows between queued, running and finished.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable

from colsec.db import Database
from colsec.db_base import utcnow
from colsec.jobs.models import Job, JobBlob, JobStatus

__all__ = ["MAX_BACKOFF_SECONDS", "Claimed", "Leases"]

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Claimed:
    """A job this worker holds the lease of, detached from its row."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int


class Leases:
    """The lease transitions of one worker (``worker_id``) over the job table."""

    def __init__(
        self, database: Database, *, worker_id: str, lease: timedelta, retry_base_seconds: float
    ) -> None:
        self.database = database
        self.worker_id = worker_id
        self.lease = lease
        self.retry_base_seconds = retry_base_seconds

    def _due(self, kinds: Iterable[str], now: datetime) -> Any:
        return select(Job).where(
            Job.status == JobStatus.QUEUED.value, Job.run_after <= now, Job.kind.in_(list(kinds))
        )

    def claim(self, kinds: Iterable[str]) -> Claimed | None:
        """Take the oldest due job of one of ``kinds``, or None when none is due."""
        now = utcnow()
        kinds = list(kinds)
        with self.database.unit_of_work(write=False) as s:  # a cheap look first: no write lock when idle
            if s.execute(self._due(kinds, now).with_only_columns(Job.id).limit(1)).first() is None:
                return None
        with self.database.unit_of_work() as s:
            job = s.execute(
                self._due(kinds, now)
                .order_by(Job.run_after, Job.created_at)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).scalar_one_or_none()
            if job is None:
                return None
            job.status = JobStatus.RUNNING.value
            job.attempts += 1
            job.lease_owner = self.worker_id
            job.lease_until = now + self.lease
            job.heartbeat_at = now
            job.started_at = job.started_at or now
            return Claimed(job.id, job.kind, dict(job.payload or {}), job.attempts, job.max_attempts)

    def backoff(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.retry_base_seconds * 2 ** max(0, attempt - 1), MAX_BACKOFF_SECONDS))

    def reap_expired(self, inflight: Collection[str]) -> int:
        """Jobs whose worker stopped heartbeating: requeued with backoff, or failed once attempts are spent.

        ``inflight`` are the jobs this process is running: never reaped here, even when a
        heartbeat could not be written (SQLite's write lock held by the handler).
        """
        now = utcnow()
        expired = Job.status == JobStatus.RUNNING.value, Job.lease_until < now, Job.id.not_in(inflight)
        with self.database.unit_of_work(write=False) as s:
            if s.execute(select(Job.id).where(*expired).limit(1)).first() is None:
                return 0
        with self.database.unit_of_work() as s:
            jobs = s.execute(
                select(Job).where(*expired).limit(100).with_for_update(skip_locked=True)
            ).scalars()
            n = 0
            for job in jobs:
                n += 1
                lost = f"worker {job.lease_owner} lost: lease expired"
                if job.attempts >= job.max_attempts:
                    _finish(s, job, now, error={"reason": f"{lost} after {job.attempts} attempts"})
                else:
                    job.status = JobStatus.QUEUED.value
                    job.run_after = now + self.backoff(job.attempts)
                    job.lease_owner = job.lease_until = None
                    job.error = {"reason": f"{lost} (attempt {job.attempts} of {job.max_attempts}); retrying"}
                log.warning("job %s (%s): %s", job.id, job.kind, (job.error or {}).get("reason"))
            return n

    def complete(self, claimed: Claimed, outcome: dict[str, Any]) -> None:
        """Record a handler's outcome: done, failed for good, or requeued with backoff."""
        now = utcnow()
        with self.database.unit_of_work() as s:
            job = s.execute(
                select(Job)
                .where(
                    Job.id == claimed.id, Job.lease_owner == self.worker_id, Job.attempts == claimed.attempt
                )
                .with_for_update()
            ).scalar_one_or_none()
            if job is None:  # our lease expired and another worker took the job over
                log.warning(
                    "job %s finished here after its lease was taken over; outcome dropped", claimed.id
                )
                return
            error = outcome.get("error")
            if error is None:
                _finish(s, job, now, result=outcome["result"])
            elif outcome.get("final"):
                if claimed.attempt > 1 and not outcome.get("error", {}).get("error"):
                    error = {**error, "reason": f"failed after {claimed.attempt} attempts: {error['reason']}"}
                _finish(s, job, now, error=error)
            else:
                job.status = JobStatus.QUEUED.value
                job.run_after = now + self.backoff(claimed.attempt)
                job.lease_owner = job.lease_until = None
                job.error = {"reason": f"attempt {claimed.attempt} failed: {error['reason']}; retrying"}

    def beat(self, claimed: Claimed, **values: Any) -> bool:
        """Extend the lease (and write ``values``, e.g. progress); False when the write was skipped."""
        now = utcnow()
        stmt = (
            update(Job)
            .where(Job.id == claimed.id, Job.lease_owner == self.worker_id, Job.attempts == claimed.attempt)
            .values(lease_until=now + self.lease, heartbeat_at=now, **values)
        )
        return self._try_write(stmt)

    def _try_write(self, stmt: Executable) -> bool:
        """A small write that never waits long: on SQLite the handler's own transaction may hold the lock.

        Then the beat is skipped; the in-flight set keeps this process's own runner from
        reaping the job meanwhile, and only a dead process stops beating for good.
        """
        if not self.database.sqlite:
            with self.database.unit_of_work() as s:
                s.execute(stmt)
            return True
        with self.database.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            raw.execute("PRAGMA busy_timeout=20")
            try:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    conn.execute(stmt)
                return True
            except OperationalError:
                return False
            finally:
                raw.execute("PRAGMA busy_timeout=30000")


def _finish(
    s: Session,
    job: Job,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """End a job for good; its uploaded input goes with it."""
    job.status = JobStatus.SUCCEEDED.value if error is None else JobStatus.FAILED.value
    job.result = result
    job.error = error
    job.finished_at = now
    job.lease_until = None  # the owner stays: who ran (or last held) the job
    if error is None and job.total is not None:
        job.processed = max(job.processed, job.total)
    s.execute(delete(JobBlob).where(JobBlob.job_id == job.id))
