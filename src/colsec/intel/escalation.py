"""Acknowledgement-tracked alerting: an unacknowledged critical alert climbs a ladder.

After ``deputies_after`` nobody in the recipient organisation has acknowledged it: its
deputies (by default the representatives and admins) are told.  After ``centre_after``
still nothing: the crisis centre's coordinators are told.  Each step is claimed with a
conditional UPDATE (two workers never send it twice) and audited.

The periodic job ``ESCALATE_KIND`` (wired in ``colsec.job_wiring``) runs ``escalate_due``;
tests call it directly with ``now=``.  Notifications are the node's in-app rows plus their
outbox e-mails, written by the ``notify`` function the wiring binds (the crisis domain's,
which intel may not import): intel only decides who is told and when.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation, User
from colsec.accounts.roles import SYSTEM, Role
from colsec.intel.models import Alert, AlertRecipient
from colsec.jobs.runner import JobContext
from colsec.outbox.text import Text
from colsec.settings import Settings
from colsec.stix.ids import format_timestamp
from colsec.store import audit

__all__ = ["ESCALATE_KIND", "EscalationPolicy", "Notifier", "escalate_due", "run_escalation"]

ESCALATE_KIND = "intel.alert_escalation"
DEPUTIES, CENTRE = 1, 2
BATCH = 500


class Notifier(Protocol):
    """Writes in-app notifications for users and queues their e-mails (``colsec.crisis.notify.notify``)."""

    def __call__(
        self,
        db: Session,
        *,
        kind: str,
        subject: str | Text,
        body: str | Text = ...,
        target: str = ...,
        user_ids: Iterable[int] = ...,
    ) -> int: ...


@dataclass(frozen=True)
class EscalationPolicy:
    deputies_after: timedelta = timedelta(minutes=15)
    centre_after: timedelta = timedelta(minutes=60)
    severities: tuple[str, ...] = ("critical",)
    deputy_roles: tuple[Role, ...] = (Role.REPRESENTATIVE, Role.ADMIN)
    check_every_seconds: float = 60.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationPolicy:
        return cls(
            deputies_after=timedelta(seconds=settings.alert_escalate_deputies_seconds),
            centre_after=timedelta(seconds=settings.alert_escalate_centre_seconds),
            severities=tuple(settings.alert_escalate_severities),
            deputy_roles=tuple(Role(r) for r in settings.alert_deputy_roles),
            check_every_seconds=settings.alert_escalation_check_seconds,
        )


def _users(db: Session, roles: Iterable[Role], org_ids: Iterable[int]) -> list[int]:
    ids = list(org_ids)
    if not ids:
        return []
    return list(
        db.execute(
            select(User.id)
            .where(User.is_active, User.role.in_([r.value for r in roles]), User.organisation_id.in_(ids))
            .order_by(User.id)
        ).scalars()
    )


def _claim(db: Session, alert_id: int, org_id: int, before: int, after: int, at: str) -> bool:
    res = db.execute(
        update(AlertRecipient)
        .where(
            AlertRecipient.alert_id == alert_id,
            AlertRecipient.organisation_id == org_id,
            AlertRecipient.state == "new",
            AlertRecipient.escalation == before,
        )
        .values(escalation=after, escalated_at=at)
        .execution_options(synchronize_session=False)
    )
    return getattr(res, "rowcount", 0) == 1


def escalate_due(
    db: Session, *, policy: EscalationPolicy, notify: Notifier, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Take every due step of every unacknowledged alert of the escalated severities; returns the steps."""
    now = now or datetime.now(UTC)
    at = format_timestamp(now)
    first_due = format_timestamp(now - min(policy.deputies_after, policy.centre_after))
    centre_due = format_timestamp(now - policy.centre_after)
    deputies_due = format_timestamp(now - policy.deputies_after)
    centres = list(db.execute(select(Organisation.id).where(Organisation.kind == "crisis_centre")).scalars())
    rows = db.execute(
        select(AlertRecipient.alert_id, AlertRecipient.organisation_id, AlertRecipient.escalation,
               AlertRecipient.created_at, Alert.title, Alert.severity, Organisation.short_name)
        .join(Alert, Alert.id == AlertRecipient.alert_id)
        .join(Organisation, Organisation.id == AlertRecipient.organisation_id)
        .where(
            AlertRecipient.state == "new", AlertRecipient.escalation < CENTRE,
            AlertRecipient.created_at <= first_due, Alert.severity.in_(policy.severities),
            Organisation.kind != "crisis_centre",
        )
        .order_by(AlertRecipient.created_at)
        .limit(BATCH)
    ).all()  # fmt: skip
    steps: list[dict[str, Any]] = []
    for alert_id, org_id, level, created, title, severity, org in rows:
        if level < DEPUTIES and created <= deputies_due and _claim(db, alert_id, org_id, level, DEPUTIES, at):
            level = DEPUTIES
            users = _users(db, policy.deputy_roles, [org_id])
            told = notify(
                db, kind="intel.alert_escalated", target=f"alert:{alert_id}", user_ids=users,
                subject=Text("Unacknowledged %(severity)s alert #%(id)s: %(title)s",
                             {"severity": Text(severity), "id": alert_id, "title": title}),
                body=Text("Nobody in %(org)s has acknowledged this alert since %(since)s. Open /alerts/%(id)s",
                          {"org": org, "since": _when(created), "id": alert_id}),
            )  # fmt: skip
            steps.append(_audit(db, alert_id, org, "deputies", told, at))
        if level == DEPUTIES and created <= centre_due and _claim(db, alert_id, org_id, level, CENTRE, at):
            # The centre sees the title only when it is itself a recipient of this alert.
            shared = db.execute(
                select(AlertRecipient.organisation_id).where(
                    AlertRecipient.alert_id == alert_id, AlertRecipient.organisation_id.in_(centres)
                )
            ).first()
            named = {"org": org, "severity": Text(severity), "id": alert_id, "title": title}
            subject = (
                Text("%(org)s has not acknowledged %(severity)s alert #%(id)s: %(title)s", named)
                if shared
                else Text("%(org)s has not acknowledged a %(severity)s alert (#%(id)s)", named)
            )
            told = notify(
                db, kind="intel.alert_escalated", target=f"alert:{alert_id}", subject=subject,
                user_ids=_users(db, (Role.COORDINATOR,), centres),
                body=Text("Raised at %(since)s; its deputies were told and it is still unacknowledged.",
                          {"since": _when(created)}),
            )  # fmt: skip
            steps.append(_audit(db, alert_id, org, "crisis_centre", told, at))
    return steps


def _when(stamp: str) -> datetime | str:
    """A stored STIX timestamp as a time the notice formats in each language (kept as is if odd)."""
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return stamp


def _audit(db: Session, alert_id: int, org: str, step: str, told: int, at: str) -> dict[str, Any]:
    details = {"organisation": org, "step": step, "users_told": told, "at": at}
    audit.record(db, actor=SYSTEM, action="alert.escalate", target=f"alert:{alert_id}", details=details)
    return {"alert_id": alert_id, **details}


def run_escalation(ctx: JobContext, *, policy: EscalationPolicy, notify: Notifier) -> dict[str, Any]:
    """The periodic job: one pass in one transaction, its steps as the result."""
    with ctx.database.unit_of_work() as s:
        steps = escalate_due(s, policy=policy, notify=notify)
    return {"escalated": len(steps), "steps": steps[:50]}
