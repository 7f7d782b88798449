"""Deadlines: closing consultations when their time is up, reminders before it, cancellation on withdrawal."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.consultation import eligible_org_ids, finalise
from colsec.crisis.models import Consultation, Position
from colsec.crisis.outcome import Reason, Rule, Tally, decide
from colsec.crisis.states import aware, now

__all__ = ["cancel_for_request", "close_due", "send_reminders"]


def close_due(db: Session, *, at: datetime | None = None, actor: Actor = SYSTEM) -> list[int]:
    """Close every open consultation whose deadline has passed; returns their ids."""
    when = at or now()
    due = list(
        db.execute(
            select(Consultation)
            .where(Consultation.status == "open", Consultation.deadline <= when)
            .order_by(Consultation.id)
        ).scalars()
    )
    closed = []
    for c in due:
        tally = Tally(c.eligible_count, c.quorum, c.agree_count, c.object_count, c.abstain_count)
        verdict = decide(Rule(c.rule), tally, deadline_passed=True)
        assert verdict.outcome is not None
        if finalise(db, c.id, verdict.outcome, verdict.reason.with_(deadline=True), actor=actor, at=when):
            closed.append(c.id)
    return closed


def cancel_for_request(db: Session, *, actor: Actor, request_id: int) -> list[int]:
    """A withdrawn request ends its open consultation without a decision; returns the ids cancelled."""
    rows = db.execute(
        update(Consultation)
        .where(Consultation.request_id == request_id, Consultation.status == "open")
        .values(
            status="cancelled",
            outcome=None,
            decided_at=now(),
            decided_by=actor.username,
            decision_reason=Reason("request_withdrawn").encode(),
        )
        .returning(Consultation.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows.scalars())


def send_reminders(db: Session, *, within: timedelta = timedelta(hours=2), at: datetime | None = None) -> int:
    """Remind members who have not answered, once per consultation, when the deadline is near."""
    when = at or now()
    due = list(
        db.execute(
            select(Consultation).where(
                Consultation.status == "open",
                Consultation.reminded_at.is_(None),
                Consultation.deadline <= when + within,
                Consultation.deadline > when,
            )
        ).scalars()
    )
    sent = 0
    for c in due:
        claimed: Any = db.execute(
            update(Consultation)
            .where(Consultation.id == c.id, Consultation.reminded_at.is_(None))
            .values(reminded_at=when)
        )
        if claimed.rowcount != 1:
            continue
        answered = set(
            db.execute(select(Position.organisation_id).where(Position.consultation_id == c.id)).scalars()
        )
        missing = [o for o in eligible_org_ids(db, c.id) if o not in answered]
        sent += notices.notify(
            db, kind="consultation.reminder",
            subject=notices.Text("Reminder: consultation #%(id)s closes at %(deadline)s", {"id": c.id, "deadline": aware(c.deadline)}),
            body=c.question, target=f"consultation:{c.id}",
            user_ids=notices.recipients(db, roles=[Role.REPRESENTATIVE], org_ids=missing), webhook_org_ids=missing,
        )  # fmt: skip
    return sent
