"""Periodic work: close consultations at their deadline, remind (delivery is the outbox's).

Runs from ``colsec crisis tick``, from the API (``POST /api/v1/crisis/tick``) and as a
periodic job; each step is its own unit of work and safe to run concurrently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM
from colsec.crisis import notify as notices
from colsec.crisis.crises import due_sitreps
from colsec.crisis.deadlines import close_due, send_reminders
from colsec.crisis.models import Crisis, CrisisRole, SituationReport
from colsec.crisis.states import aware, now
from colsec.db import Database
from colsec.jobs.runner import JobContext
from colsec.settings import Settings
from colsec.store import audit

__all__ = [
    "SITREP_INTERVAL",
    "SITREP_KIND",
    "SITREP_SECONDS",
    "TICK_KIND",
    "TICK_SECONDS",
    "TickReport",
    "remind_by_level",
    "remind_sitreps",
    "run_sitrep_reminders",
    "run_tick",
    "tick",
]

TICK_SECONDS = 30
TICK_KIND = "crisis.tick"
SITREP_KIND = "crisis.sitrep_reminders"
SITREP_SECONDS = 300
# How often a running crisis owes a situation report, by alert level (5 is the most severe).
SITREP_INTERVAL: dict[int, timedelta] = {
    5: timedelta(hours=3),
    4: timedelta(hours=6),
    3: timedelta(hours=12),
    2: timedelta(hours=24),
    1: timedelta(hours=48),
}


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
            db, kind="crisis.sitrep_due", subject=notices.Text("Crisis #%(id)s: situation report overdue since %(due)s", {"id": crisis.id, "due": aware(due)}),
            target=f"crisis:{crisis.id}", user_ids=[crisis.lead_user_id],
        )  # fmt: skip
    return sent


def remind_by_level(db: Session, *, at: datetime | None = None) -> list[int]:
    """Remind the lead and the scribes of every running crisis whose report interval has run out.

    The interval follows the alert level (``SITREP_INTERVAL``), counted from the latest report
    (or the opening); a crisis is reminded at most once per interval, claimed by a conditional
    UPDATE so two workers never both send it.  Returns the ids of the crises reminded.
    """
    when = at or now()
    latest = dict(
        db.execute(
            select(SituationReport.crisis_id, func.max(SituationReport.created_at)).group_by(
                SituationReport.crisis_id
            )
        ).all()
    )
    reminded = []
    running = select(Crisis).where(Crisis.status.in_(("opened", "active", "stabilising"))).order_by(Crisis.id)
    for crisis in db.execute(running).scalars():
        every = SITREP_INTERVAL.get(crisis.alert_level, SITREP_INTERVAL[3])
        last = aware(latest.get(crisis.id) or crisis.opened_at)
        due = last + every
        before = crisis.sitrep_reminded_at
        if before is not None:
            due = max(due, aware(before) + every)
        if when < due:
            continue
        claimed: Any = db.execute(
            update(Crisis)
            .where(
                Crisis.id == crisis.id,
                Crisis.sitrep_reminded_at.is_(None)
                if before is None
                else Crisis.sitrep_reminded_at == before,
            )
            .values(sitrep_reminded_at=when)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            continue
        scribes = db.execute(
            select(CrisisRole.user_id).where(
                CrisisRole.crisis_id == crisis.id, or_(CrisisRole.role == "scribe", CrisisRole.role == "lead")
            )
        ).scalars()
        users = sorted({*scribes, *([crisis.lead_user_id] if crisis.lead_user_id else [])})
        hours = int(every.total_seconds() // 3600)
        notices.notify(
            db, kind="crisis.sitrep_reminder",
            subject=notices.Text("Crisis #%(id)s (alert level %(level)s): a situation report is due every %(hours)s h",
                                 {"id": crisis.id, "level": crisis.alert_level, "hours": hours}),
            body=notices.Text("The last one was at %(at)s.", {"at": last}), target=f"crisis:{crisis.id}", user_ids=users,
            payload={"crisis": crisis.id, "alert_level": crisis.alert_level, "every_hours": hours},
        )  # fmt: skip
        audit.record(db, actor=SYSTEM, action="crisis.sitrep_reminder", target=f"crisis:{crisis.id}",
                     details={"alert_level": crisis.alert_level, "every_hours": hours, "at": when.isoformat()})  # fmt: skip
        reminded.append(crisis.id)
    return reminded


def run_sitrep_reminders(ctx: JobContext) -> dict[str, Any]:
    """The periodic job (``Schedule(SITREP_KIND, SITREP_SECONDS)``): its own unit of work."""
    with ctx.database.unit_of_work() as s:
        return {"reminded": remind_by_level(s)}
