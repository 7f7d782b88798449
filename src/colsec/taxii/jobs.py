"""Large TAXII envelopes as durable jobs: the status resource is answered at once, the store follows.

The job shares the status resource's id and is queued in the transaction that creates the
pending status, with the envelope as its input; so a status never stays "pending" because a
process died: another worker takes the job over, and a job that failed for good shows its
status complete with every object failed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.jobs import queue
from colsec.jobs.models import Job, JobStatus
from colsec.jobs.runner import JobContext
from colsec.stix.tlp import TLP
from colsec.store.limits import WriteLimits
from colsec.taxii import service
from colsec.taxii.models import TaxiiStatus

__all__ = ["ADD_KIND", "enqueue_add", "run_add", "status_body"]

ADD_KIND = "taxii.add"


def enqueue_add(
    db: Session, *, actor: Actor, status_id: str, collection_id: str, objects: Sequence[Any], default_tlp: TLP
) -> Job:
    payload = {"status_id": status_id, "collection_id": collection_id, "tlp": int(default_tlp)}
    return queue.enqueue(
        db, kind=ADD_KIND, payload=payload, actor=actor, data=orjson.dumps(list(objects)), job_id=status_id
    )


def run_add(ctx: JobContext, *, limits: WriteLimits | None = None) -> dict[str, Any]:
    """Store the envelope (idempotent: a retry finds the versions stored and counts them as successes)."""
    objects = orjson.loads(ctx.blob())
    status_id = str(ctx.payload["status_id"])
    ctx.report(0, len(objects), force=True)
    try:
        service.add_objects(
            ctx.database, actor=ctx.actor, collection_id=str(ctx.payload["collection_id"]), status_id=status_id,
            objects=objects, default_tlp=TLP(ctx.payload["tlp"]), limits=limits,
        )  # fmt: skip
    except Exception:
        if ctx.final_attempt:
            service.fail_status(ctx.database, status_id=status_id, objects=objects)
        raise
    ctx.report(len(objects), len(objects), force=True)
    return {"objects": len(objects)}


def status_body(db: Session, row: TaxiiStatus) -> dict[str, Any]:
    """The status resource; a pending one whose job failed for good (its worker lost) reads as failed."""
    body = service.status_resource(row)
    if row.status != "pending":
        return body
    job = db.get(Job, row.id)
    if job is None or job.status != JobStatus.FAILED.value:
        return body
    reason = (job.error or {}).get("reason", "the server could not process this envelope")
    pendings = body.pop("pendings", [])
    body.update(status="complete", failure_count=row.total_count - row.success_count, pending_count=0)
    body["failures"] = [*body.get("failures", []), *({**p, "message": reason} for p in pendings)]
    return body
