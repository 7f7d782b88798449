"""Periodic work: close consultations at their deadline, remind (delivery is the outbox's).

Runs from ``colsec crisis tick``, from the API (``POST /api/v1/crisis/tick``) and as a
periodic job; each step is its own unit of work and safe to run concurrently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.crisis import notify as notices
from colsec.crisis.crises import due_sitreps
from colsec.crisis.deadlines import close_due, send_reminders
from colsec.crisis.models import Crisis
from colsec.crisis.states import aware, now
from colsec.db import Database
from colsec.jobs.runner import JobContext
from colsec.settings import Settings
from colsec.store import audit

__all__ = ["TICK_KIND", "TICK_SECONDS", "TickReport", "remind_sitreps", "run_tick", "tick"]

TICK_SECONDS = 30
TICK_KIND = "crisis.tick"


@dataclass
class TickReport:
    closed_consultations: list[int] = field(default_factory=list)
    reminders: int = 0
    sitrep_reminders: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tick(database: Database, settings: Settings) -> TickReport:
    report = TickReport()
    with database.unit_of_work() as s:
        report.closed_consultations = close_due(s)
        report.reminders = send_reminders(s)
        report.sitrep_reminders = remind_sitreps(s)
        if report.closed_consultations:
            audit.record(
                s, actor=SYSTEM, action="crisis.tick", details={"closed": report.closed_consultations}
            )
    return report


def run_tick(ctx: JobContext, *, settings: Settings) -> dict[str, Any]:
    """The periodic job (``Schedule(TICK_KIND, TICK_SECONDS)``): one tick, its report as the result."""
    return tick(ctx.database, settings).to_dict()


def remind_sitreps(db: Session, *, at: datetime | None = None) -> int:
    """Tell the lead coordinator once when a crisis's next situation report is overdue."""
    sent = 0
    for crisis in due_sitreps(db, at=at or now()):
        due = crisis.next_report_due
        claimed = db.execute(
            update(Crisis)
            .where(Crisis.id == crisis.id, Crisis.next_report_due == due)
            .values(next_report_due=None)
        )
        if getattr(claimed, "rowcount", 0) != 1 or crisis.lead_user_id is None or due is None:
            continue
        sent += notices.notify(
            db, kind="crisis.sitrep_due", subject=f"Crisis #{crisis.id}: situation report overdue since {aware(due):%H:%M} UTC",
            target=f"crisis:{crisis.id}", user_ids=[crisis.lead_user_id],
        )  # fmt: skip
    return sent
