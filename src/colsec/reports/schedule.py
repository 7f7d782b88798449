"""Scheduled drafts: each bulletin type with a schedule gets a draft at its slot (node time, UTC).

A periodic durable job (``SCHEDULE_KIND``, wired in ``colsec.job_wiring``) calls ``run_due``.
Only the latest slot that has passed is generated: after downtime the missed slots are caught
up once, with one draft, not one per missed slot.  ``last_slot`` is claimed with a
compare-and-set, so two workers never draft the same slot twice.

A schedule may publish its drafts itself, but only where nobody's judgement is skipped: a
data-only bulletin (no commentary sections, not an advisory) for TLP:CLEAR, whose content is
already public by its marking.  The node publishes it as ``SYSTEM``, audited like any step;
the four-eyes rule of the human workflow is untouched (``service.approve``).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Actor
from colsec.errors import Forbidden, InvalidInput
from colsec.jobs.runner import JobContext
from colsec.reports.models import Bulletin, BulletinSchedule
from colsec.reports.sections import kind_of
from colsec.reports.service import Mailer, create_draft, publish_data_only
from colsec.stix.tlp import TLP
from colsec.store import audit

__all__ = [
    "SCHEDULE_KIND",
    "SCHEDULE_SECONDS",
    "latest_slot",
    "list_schedules",
    "may_auto_publish",
    "next_slot",
    "require_scheduler",
    "run_due",
    "run_schedules",
    "set_schedule",
]

SCHEDULE_KIND = "reports.schedule"
SCHEDULE_SECONDS = 60


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def latest_slot(kind: str, hour: int, minute: int, now: datetime) -> datetime:
    """The latest slot at or before ``now``: daily; weekly on Mondays; monthly on the 1st."""
    days = kind_of(kind).days
    at = datetime.combine(now.date(), time(hour, minute), tzinfo=UTC)
    if at > now:
        at -= timedelta(days=1)
    if days == 7:
        at -= timedelta(days=at.weekday())
    elif days >= 28:
        at = at.replace(day=1)
        if at > now:  # the 1st of this month at the hour is still ahead: last month's
            at = (at - timedelta(days=1)).replace(day=1)
    return at


def may_auto_publish(kind: str, audience: int, *, commentary: bool) -> bool:
    """Only a data-only TLP:CLEAR bulletin: no commentary sections, no advisory links."""
    return audience == int(TLP.CLEAR) and not commentary and not kind_of(kind).advisory


def require_scheduler(actor: Actor) -> None:
    """Schedules act for the whole node (drafts as ``SYSTEM``): only its operator sets them."""
    if not actor.is_operator:
        raise Forbidden("only the node operator sets bulletin schedules", kind="operator_only")


def next_slot(kind: str, hour: int, minute: int, now: datetime) -> datetime:
    """The first slot after ``now`` (a month is at most 31 days, so 32 probes always find it)."""
    for days in range(1, 33):
        at = latest_slot(kind, hour, minute, now + timedelta(days=days))
        if at > now:
            return at
    raise AssertionError("unreachable: every kind has a slot within 32 days")


def list_schedules(db: Session) -> dict[str, BulletinSchedule]:
    """Every schedule that is set, by bulletin type."""
    return {r.kind: r for r in db.execute(select(BulletinSchedule)).scalars()}


def set_schedule(
    db: Session, *, kind: str, audience: TLP, hour: int, minute: int = 0,
    commentary: bool = False, auto_publish: bool = False, actor: Actor = SYSTEM,
) -> BulletinSchedule:  # fmt: skip
    kind_of(kind)
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise InvalidInput(
            f"schedule time {hour:02d}:{minute:02d} is not a time of day", details={"refused": "time"}
        )
    if auto_publish and not may_auto_publish(kind, int(audience), commentary=commentary):
        raise InvalidInput(
            "only a data-only TLP:CLEAR bulletin (no commentary, not a joint advisory) may auto-publish",
            details={"refused": "auto_publish"},
        )
    row = db.get(BulletinSchedule, kind)
    if row is None:
        row = BulletinSchedule(kind=kind, audience=int(audience), hour=hour, minute=minute, last_slot=None)
        db.add(row)
    row.audience, row.hour, row.minute = int(audience), hour, minute
    row.commentary, row.auto_publish = commentary, auto_publish
    db.flush()
    audit.record(db, actor=actor, action="report.schedule", target=f"schedule:{kind}",
                 details={"audience": TLP(audience).name, "at": f"{hour:02d}:{minute:02d}",
                          "commentary": commentary, "auto_publish": auto_publish})  # fmt: skip
    return row


def run_due(db: Session, *, now: datetime | None = None, mailer: Mailer | None = None) -> list[Bulletin]:
    """Generate the drafts that are due, publishing those of auto-publishing schedules; returns them."""
    at = now or datetime.now(UTC)
    made = []
    for row in list(db.execute(select(BulletinSchedule).order_by(BulletinSchedule.kind)).scalars()):
        slot = latest_slot(row.kind, row.hour, row.minute, at)
        last = _aware(row.last_slot) if row.last_slot else None
        if last is not None and slot <= last:
            continue
        claim = update(BulletinSchedule).where(BulletinSchedule.kind == row.kind)
        claim = claim.where(
            BulletinSchedule.last_slot.is_(None)
            if row.last_slot is None
            else BulletinSchedule.last_slot == row.last_slot
        )
        if getattr(db.execute(claim.values(last_slot=slot)), "rowcount", 0) != 1:
            continue  # another worker took this slot
        b = create_draft(db, actor=SYSTEM, kind=row.kind, audience=TLP(row.audience), end=slot.date(), now=at)
        # Checked again here, not only when set: a row changed behind the service never publishes.
        if row.auto_publish and may_auto_publish(row.kind, row.audience, commentary=row.commentary):
            publish_data_only(db, bulletin_id=b.id, schedule=row.kind, mailer=mailer, now=at)
        made.append(b)
    db.expire_all()
    return made


def run_schedules(ctx: JobContext, *, mailer: Mailer | None = None) -> dict[str, Any]:
    """The periodic job: one pass over the schedules in its own transaction."""
    with ctx.database.unit_of_work() as s:
        made = run_due(s, mailer=mailer)
        return {
            "drafts": [b.id for b in made],
            "published": [b.id for b in made if b.status == "published"],
        }
