"""The alert workflow of one organisation: acknowledge, assign, work on, close with a reason.

Each recipient organisation handles its own copy of an alert (``AlertRecipient``), so the
crisis centre closing its copy does not close the member's.  Every transition is one
conditional UPDATE on the expected state (two analysts acknowledging at once: one wins,
the other gets a conflict) and one audit row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.intel.alerts import OPEN_STATES, AlertView, alert_for
from colsec.intel.models import AlertRecipient
from colsec.stix.ids import format_timestamp
from colsec.store import audit

__all__ = ["WORKERS", "acknowledge", "assign", "can_work", "close", "colleagues", "start"]

# Roles that work alerts; viewers and peers only read them.
WORKERS = (Role.ADMIN, Role.ANALYST, Role.COORDINATOR, Role.REPRESENTATIVE)
MAX_REASON = 400


def can_work(actor: Actor) -> bool:
    return actor.org_id is not None and actor.role in WORKERS


def _stamp(now: datetime | None) -> str:
    return format_timestamp(now or datetime.now(UTC))


def _copy(db: Session, actor: Actor, alert_id: int) -> AlertRecipient:
    if actor.org_id is None:
        raise InvalidInput("alerts belong to organisations", kind="alerts_need_organisation")
    if not can_work(actor):
        raise Forbidden(f"role '{actor.role}' may read alerts but not act on them", kind="alerts_read_only")
    row = db.get(AlertRecipient, (alert_id, actor.org_id))
    if row is None:
        raise NotFound(f"alert {alert_id} not found", kind="alert_not_found", params={"alert": alert_id})
    return row


def _move(
    db: Session,
    actor: Actor,
    alert_id: int,
    *,
    allowed_from: tuple[str, ...],
    values: dict[str, object],
    action: str,
    details: dict[str, object] | None = None,
) -> AlertView:
    row = _copy(db, actor, alert_id)
    before = row.state
    if before not in allowed_from:
        raise Conflict(
            f"alert {alert_id} is {before.replace('_', ' ')}: it cannot be {action.split('.')[-1]}",
            kind="alert_step_not_now",
        )
    res = db.execute(
        update(AlertRecipient)
        .where(
            AlertRecipient.alert_id == alert_id,
            AlertRecipient.organisation_id == actor.org_id,
            AlertRecipient.state == before,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(res, "rowcount", 0) != 1:
        raise Conflict(f"alert {alert_id} was changed by someone else; reload it", kind="changed_meanwhile")
    db.expire(row)
    audit.record(
        db, actor=actor, action=action, target=f"alert:{alert_id}",
        details={"from": before, "to": values.get("state", before), **(details or {})},
    )  # fmt: skip
    assert actor.org_id is not None
    return alert_for(db, org_id=actor.org_id, alert_id=alert_id)


def _ack_values(row: AlertRecipient, actor: Actor, at: str) -> dict[str, object]:
    if row.acknowledged_at is not None:
        return {}
    return {"acknowledged_by": actor.username, "acknowledged_at": at, "read_at": row.read_at or at}


def acknowledge(db: Session, *, actor: Actor, alert_id: int, now: datetime | None = None) -> AlertView:
    """Someone in the organisation has seen it: this stops its escalation."""
    at = _stamp(now)
    row = _copy(db, actor, alert_id)
    return _move(
        db, actor, alert_id, allowed_from=("new",), action="alert.acknowledge",
        values={"state": "acknowledged", **_ack_values(row, actor, at)},
    )  # fmt: skip


def start(db: Session, *, actor: Actor, alert_id: int, now: datetime | None = None) -> AlertView:
    """Work has begun (acknowledging it too when nobody had); unassigned alerts go to the caller."""
    at = _stamp(now)
    row = _copy(db, actor, alert_id)
    values: dict[str, object] = {"state": "in_progress", **_ack_values(row, actor, at)}
    if row.assigned_to is None:
        values["assigned_to"] = actor.username
    return _move(
        db, actor, alert_id, allowed_from=("new", "acknowledged"), action="alert.start", values=values
    )


def close(db: Session, *, actor: Actor, alert_id: int, reason: str, now: datetime | None = None) -> AlertView:
    """Closed with the reason (resolved, false positive, accepted risk...): required, it is the record."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason: say why the alert is closed", kind="close_needs_reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            f"reason: at most {MAX_REASON} characters", kind="reason_too_long", params={"limit": MAX_REASON}
        )
    at = _stamp(now)
    row = _copy(db, actor, alert_id)
    values = {"state": "closed", "closed_by": actor.username, "closed_at": at, "close_reason": reason}
    return _move(
        db, actor, alert_id, allowed_from=OPEN_STATES, action="alert.close",
        values={**values, **_ack_values(row, actor, at)}, details={"reason": reason},
    )  # fmt: skip


def assign(db: Session, *, actor: Actor, alert_id: int, username: str) -> AlertView:
    """Hand an open alert to a colleague: an active user of the same organisation (empty: unassign)."""
    username = username.strip()
    row = _copy(db, actor, alert_id)
    if username:
        user = db.execute(
            select(User.id).where(
                User.username == username, User.organisation_id == actor.org_id, User.is_active
            )
        ).scalar_one_or_none()
        if user is None:
            raise InvalidInput(
                f"assignee: no active user {username!r} in your organisation",
                kind="assignee_unknown",
                params={"user": username},
            )
    return _move(
        db, actor, alert_id, allowed_from=OPEN_STATES, action="alert.assign",
        values={"state": row.state, "assigned_to": username or None}, details={"assignee": username or None},
    )  # fmt: skip


def colleagues(db: Session, *, actor: Actor) -> list[str]:
    """Who an alert may be assigned to."""
    if actor.org_id is None:
        return []
    return list(
        db.execute(
            select(User.username)
            .where(
                User.organisation_id == actor.org_id,
                User.is_active,
                User.role.in_([r.value for r in WORKERS]),
            )
            .order_by(User.username)
        ).scalars()
    )
