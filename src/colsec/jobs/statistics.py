"""The post-import step and job that refresh planner statistics after a large import.

The step queues the job in the import's own transaction (a rolled-back import queues nothing);
the job runs ``ANALYZE`` later on a worker, outside that transaction and off the request path.
One unfinished job at a time: imports arriving while it waits share it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.jobs import queue
from colsec.jobs.runner import JobContext
from colsec.store.statistics import analyze_written, wants_analyze

__all__ = ["ANALYZE_KIND", "queue_analyze", "run_analyze"]

ANALYZE_KIND = "store.analyze"


def queue_analyze(db: Session, seqs: Sequence[int]) -> None:
    """Post-import step: queue a statistics refresh when this import created many versions."""
    if wants_analyze(db, len(seqs)):
        queue.enqueue(
            db, kind=ANALYZE_KIND, payload={"versions": len(seqs)}, actor=SYSTEM, dedupe_key=ANALYZE_KIND
        )


def run_analyze(ctx: JobContext) -> dict[str, Any]:
    with ctx.database.unit_of_work() as s:
        return {"analyzed": analyze_written(s)}
