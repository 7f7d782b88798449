"""The durable job table: every piece of background work is a row here.

Status and progress live in the row, so the API, the UI and the CLI of any process read
the same truth, and a job whose worker died is visible as such (its lease expired).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = ["FINISHED", "Job", "JobBlob", "JobStatus"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value)


class Job(Base):
    __tablename__ = "job"
    __table_args__ = (
        # One unfinished job per key: a period (or a peer's pull) is enqueued once however many
        # workers race to enqueue it.
        Index(
            "uq_job_dedupe_key_unfinished",
            "dedupe_key",
            unique=True,
            sqlite_where=text("finished_at IS NULL"),
            postgresql_where=text("finished_at IS NULL"),
        ),
        # The claim query: due queued jobs and expired leases, oldest first.
        Index("ix_job_status_run_after", "status", "run_after"),
        Index("ix_job_org_id_created_at", "org_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    org_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    run_after: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed: Mapped[int] = mapped_column(BigId, default=0)
    total: Mapped[int | None] = mapped_column(BigId)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobBlob(Base):
    """The input bytes of a job (an upload, an envelope), kept in the database.

    Not a file under the data folder: a ``colsec worker`` on another machine shares only the
    database, and a row is written in the same transaction as the job, so a job never exists
    without its input (nor an orphan file without its job).  Deleted when the job finishes.
    """

    __tablename__ = "job_blob"

    job_id: Mapped[str] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
