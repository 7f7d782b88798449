"""Peer sync as durable jobs (urgent pushes are outbox rows: ``colsec.federation.push``).

A periodic ``federation.sync_due`` job queues one ``federation.pull`` per peer whose pull
interval has passed; the pull's dedupe key (one unfinished pull per peer) keeps two
workers from pulling the same peer at once.  Each page commits its objects with the
cursor, so a pull taken over after its worker died resumes where the last commit left
it: nothing lost, nothing stored twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Actor
from colsec.federation.models import Peer
from colsec.federation.peers import load_peers
from colsec.federation.sync import sync_peer
from colsec.jobs import queue
from colsec.jobs.models import Job, JobStatus
from colsec.jobs.runner import JobContext
from colsec.outbound import DENY_ALL, OutboundPolicy
from colsec.store.limits import WriteLimits

__all__ = ["PULL_KIND", "SYNC_DUE_KIND", "queue_due_pulls", "queue_pull", "run_pull"]

SYNC_DUE_KIND = "federation.sync_due"
PULL_KIND = "federation.pull"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def queue_pull(db: Session, peer: Peer, *, actor: Actor) -> Job:
    """Queue a pull of ``peer``; while one is unfinished, that one is returned instead."""
    return queue.enqueue(
        db, kind=PULL_KIND, payload={"peer": peer.name}, actor=actor,
        dedupe_key=f"{PULL_KIND}:{peer.id}", max_attempts=2,
    )  # fmt: skip


def queue_due_pulls(ctx: JobContext) -> dict[str, Any]:
    """Queue a pull for every enabled peer whose interval has passed since its last attempt."""
    now = datetime.now(UTC)
    queued: list[str] = []
    with ctx.database.unit_of_work() as s:
        for peer in s.execute(select(Peer).where(Peer.enabled.is_(True)).order_by(Peer.name)).scalars():
            last = peer.last_attempt_at
            if last is not None and _aware(last) + timedelta(seconds=peer.pull_interval_seconds) > now:
                continue
            job = queue_pull(s, peer, actor=SYSTEM)
            if job.status == JobStatus.QUEUED.value and job.attempts == 0:
                queued.append(peer.name)
    return {"queued": queued}


def run_pull(
    ctx: JobContext,
    *,
    outbound: OutboundPolicy = DENY_ALL,
    limits: WriteLimits | None = None,
    page_size: int = 1000,
) -> dict[str, Any]:
    peers = {p.name: p for p in load_peers(ctx.database)}
    peer = peers.get(str(ctx.payload["peer"]))
    if peer is None or not peer.enabled:
        return {"skipped": "peer removed or disabled"}
    report = sync_peer(
        ctx.database, peer, page_size=page_size, outbound=outbound, stop=ctx.stop, limits=limits,
        on_page=lambda r: ctx.report(r.received),
    )  # fmt: skip
    return {"pages": report.pages, "received": report.received, "inserted": report.inserted,
            "rejected": report.rejected, "error": report.error}  # fmt: skip
