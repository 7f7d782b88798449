"""Imports and feed pulls as durable jobs: queued with the request, run by a worker.

The upload is stored with the job (``job_blob``) in the request's transaction, so an
accepted import survives a restart and any ``colsec worker`` can run it.  The import
itself is one unit of work: all of it or nothing, and re-running it after a worker died
stores nothing twice (object versions are unique).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.formats.registry import ImportFormat
from colsec.jobs import queue
from colsec.jobs.models import Job
from colsec.jobs.runner import JobContext
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.stix.tlp import TLP
from colsec.store.limits import WriteLimits

__all__ = [
    "FEED_KIND",
    "IMPORT_KIND",
    "FollowUp",
    "enqueue_feed",
    "enqueue_import",
    "estimate_objects",
    "follow_up",
    "import_view",
    "run_feed",
    "run_import",
]

IMPORT_KIND = "import"
FEED_KIND = "import.feed"


def estimate_objects(raw: bytes, fmt: ImportFormat | None) -> int | None:
    """Roughly how many objects a STIX bundle holds (one ``"id"`` key per object), for a progress bar."""
    if fmt not in (ImportFormat.STIX, ImportFormat.ATTACK):
        return None
    return max(1, raw.count(b'"id"') - 1)


def enqueue_import(
    db: Session,
    *,
    actor: Actor,
    data: bytes,
    fmt: ImportFormat | None,
    default_tlp: TLP | None,
    declassify: bool = False,
    name: str = "",
) -> Job:
    payload = {
        "format": fmt.value if fmt else None,
        "tlp": int(default_tlp) if default_tlp is not None else None,
        "declassify": declassify,
        "name": name,
        "bytes": len(data),
        "expected": estimate_objects(data, fmt),
    }
    # Bad input is refused for good on the first attempt (ColsecError); retries are for crashes.
    return queue.enqueue(db, kind=IMPORT_KIND, payload=payload, actor=actor, data=data)


def enqueue_feed(db: Session, *, actor: Actor, url: str, default_tlp: TLP | None) -> Job:
    payload = {"url": url, "format": ImportFormat.MISP.value, "bytes": 0,
               "tlp": int(default_tlp) if default_tlp is not None else None}  # fmt: skip
    return queue.enqueue(db, kind=FEED_KIND, payload=payload, actor=actor)


def _tlp(payload: dict[str, Any]) -> TLP | None:
    value = payload.get("tlp")
    return TLP(value) if value is not None else None


def run_import(ctx: JobContext, *, limits: WriteLimits | None = None) -> dict[str, Any]:
    """Run one import in its own transaction; progress goes to the job row."""
    from colsec.formats.service import import_source

    data = ctx.blob()
    fmt = ImportFormat(ctx.payload["format"]) if ctx.payload.get("format") else None
    expected = ctx.payload.get("expected")
    ctx.report(0, expected, force=True)
    with ctx.database.unit_of_work() as session:
        report = import_source(
            session,
            actor=ctx.actor,
            data=data,
            fmt=fmt,
            default_tlp=_tlp(ctx.payload),
            progress=lambda n: ctx.report(n, expected),
            limits=limits,
            declassify=bool(ctx.payload.get("declassify")),
        )
    # On SQLite the import's own transaction holds the write lock: progress lands here at the latest.
    ctx.report(report.received, report.received, force=True)
    return dict(report.to_dict())


def run_feed(ctx: JobContext, *, outbound: OutboundPolicy = DENY_ALL) -> dict[str, Any]:
    """Pull a MISP feed (http(s) only, global or allow-listed addresses only) in its own transaction."""
    from colsec.formats.misp_feed import import_feed

    with ctx.database.unit_of_work() as session:
        report = import_feed(
            session,
            actor=ctx.actor,
            source=ctx.payload["url"],
            default_tlp=_tlp(ctx.payload),
            outbound=outbound,
        )
    ctx.report(report.fetched, force=True)
    return dict(report.to_dict())


@dataclass(frozen=True)
class FollowUp:
    """Where the work an import left to jobs stands (a large import's correlation, scores, exposure)."""

    state: str  # queued | running | done | failed
    versions: int  # new versions it covers
    processed: int

    @property
    def pending(self) -> bool:
        return self.state in ("queued", "running")


_STATE = {"succeeded": "done", "failed": "failed", "running": "running"}


def follow_up(db: Session, job: Job) -> FollowUp | None:
    """The state of the jobs ``job``'s import queued (``follow_up_jobs`` of its report), read from
    their rows.  They run as the node, so no caller may read them directly: whoever may see the
    import sees this summary of them, and nothing else of theirs."""
    ids = (job.result or {}).get("follow_up_jobs") or []
    if not ids:
        return None
    rows = db.execute(select(Job.status, Job.payload, Job.processed).where(Job.id.in_(ids))).all()
    if not rows:
        return None  # pruned long after they finished
    states = {_STATE.get(status, "queued") for status, _, _ in rows}
    if "failed" in states or len(states) == 1:
        state = "failed" if "failed" in states else states.pop()
    else:
        state = "running"  # some done or running, others still waiting
    versions = sum(int((payload or {}).get("versions") or 0) for _, payload, _ in rows)
    return FollowUp(state=state, versions=versions, processed=sum(p for _, _, p in rows))


def import_view(
    job: Job, live: tuple[int, int | None] | None = None, follow: FollowUp | None = None
) -> dict[str, Any]:
    """The import API's view of a job: the job, plus the format detected, the upload's size and
    where its correlation, scores and exposure stand when a large import left them to a job."""
    payload = job.payload or {}
    return {
        **queue.to_dict(job, live),
        "format": (job.result or {}).get("format") or payload.get("format"),
        "bytes": payload.get("bytes", 0),
        "follow_up": asdict(follow) if follow is not None else None,
        "url": f"/api/v1/imports/{job.id}",
    }
