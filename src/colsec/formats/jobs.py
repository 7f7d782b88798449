"""Import jobs: a long import runs after the request returns; callers poll its progress.

The job gets the bytes and the caller's identity, opens its own unit of work (the
request's session is long closed) and records progress as the store reports it.
Jobs live in the serving process (a board capped in size); a job id is only
visible to the organisation that started it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from colsec.accounts.roles import Actor
from colsec.db import Database
from colsec.errors import ColsecError, NotFound
from colsec.formats.registry import ImportFormat
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP
from colsec.store.gate import WriteLimits

__all__ = ["ImportJob", "JobBoard", "run_feed_job", "run_import_job"]

log = logging.getLogger(__name__)


@dataclass
class ImportJob:
    id: str
    org_id: int | None
    username: str
    fmt: str | None
    size: int
    status: str = "queued"  # queued, running, succeeded, failed
    processed: int = 0
    created_at: str = field(default_factory=now_timestamp)
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "format": self.fmt,
            "bytes": self.size,
            "processed": self.processed,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
        }


class JobBoard:
    def __init__(self, capacity: int = 500) -> None:
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()
        self._capacity = capacity

    def create(self, *, actor: Actor, fmt: ImportFormat | None, size: int) -> ImportJob:
        job = ImportJob(
            id=str(uuid.uuid4()),
            org_id=actor.org_id,
            username=actor.username,
            fmt=fmt.value if fmt else None,
            size=size,
        )
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._capacity:
                self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str, *, actor: Actor) -> ImportJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (job.org_id != actor.org_id and not actor.is_system):
            raise NotFound(f"import job {job_id} not found")
        return job


def run_import_job(
    database: Database,
    job: ImportJob,
    *,
    actor: Actor,
    data: bytes,
    fmt: ImportFormat | None,
    default_tlp: TLP | None,
    limits: WriteLimits | None = None,
    declassify: bool = False,
) -> None:
    """Run one import in its own transaction; the job records the outcome, never raises."""
    from colsec.formats.service import import_source

    def progress(n: int) -> None:
        job.processed = n

    job.status = "running"
    try:
        with database.unit_of_work() as session:
            report = import_source(
                session,
                actor=actor,
                data=data,
                fmt=fmt,
                default_tlp=default_tlp,
                progress=progress,
                limits=limits,
                declassify=declassify,
            )
        job.result = report.to_dict()
        job.fmt = report.fmt.value
        job.status = "succeeded"
    except ColsecError as exc:
        job.error = exc.to_dict()
        job.status = "failed"
    except Exception:  # unexpected: logged, and the job says so without exception text
        log.exception("import job %s failed", job.id)
        job.error = {"error": "internal_error", "detail": "the import failed unexpectedly"}
        job.status = "failed"
    finally:
        job.finished_at = now_timestamp()


def run_feed_job(
    database: Database,
    job: ImportJob,
    *,
    actor: Actor,
    url: str,
    default_tlp: TLP | None,
    outbound: OutboundPolicy = DENY_ALL,
) -> None:
    """Pull a MISP feed (http(s) only, global or allow-listed addresses only) in its own transaction."""
    from colsec.formats.misp_feed import import_feed

    job.status = "running"
    try:
        with database.unit_of_work() as session:
            report = import_feed(session, actor=actor, source=url, default_tlp=default_tlp, outbound=outbound)
        job.result = report.to_dict()
        job.processed = report.fetched
        job.status = "succeeded"
    except ColsecError as exc:
        job.error = exc.to_dict()
        job.status = "failed"
    except Exception:
        log.exception("feed job %s failed", job.id)
        job.error = {"error": "internal_error", "detail": "the feed import failed unexpectedly"}
        job.status = "failed"
    finally:
        job.finished_at = now_timestamp()
