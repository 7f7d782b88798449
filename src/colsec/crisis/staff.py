"""Roles on a crisis: one lead, scribes who keep the record, one liaison per member organisation.

The crisis centre assigns them; the lead also stays on ``Crisis.lead_username`` (the
lead named when the crisis was opened).  Assigning a lead hands the crisis over.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import require_centre
from colsec.crisis.crises import get_crisis, log_event
from colsec.crisis.models import Crisis, CrisisRole
from colsec.crisis.states import now
from colsec.errors import Conflict, InvalidInput, NotFound
from colsec.store import audit

__all__ = ["CRISIS_ROLES", "assign_role", "list_roles", "remove_role"]

CRISIS_ROLES = ("lead", "scribe", "liaison")


def assign_role(db: Session, *, actor: Actor, crisis_id: int, username: str, role: str) -> CrisisRole:
    """Give ``username`` a role on the crisis; a liaison speaks for their own organisation."""
    require_centre(db, actor, doing="assign roles on a crisis")
    if role not in CRISIS_ROLES:
        raise InvalidInput(
            f"unknown crisis role {role!r}; one of: {', '.join(CRISIS_ROLES)}", kind="unknown_crisis_role"
        )
    crisis = get_crisis(db, crisis_id=crisis_id)
    user = db.execute(select(User).where(User.username == username.strip().lower())).scalar_one_or_none()
    if user is None or not user.is_active:
        raise NotFound(f"user {username!r} not found", kind="unknown_user", params={"user": username})
    if role == "lead" and user.role not in (Role.COORDINATOR.value, Role.ADMIN.value):
        raise InvalidInput(
            f"the lead must be a coordinator; {user.username!r} is not",
            kind="lead_not_coordinator",
            params={"user": user.username},
        )
    if role == "liaison" and user.role not in (Role.REPRESENTATIVE.value, Role.ANALYST.value):
        raise InvalidInput(
            "a liaison is an analyst or representative of a member organisation", kind="liaison_role"
        )
    if role == "lead":
        db.execute(delete(CrisisRole).where(CrisisRole.crisis_id == crisis_id, CrisisRole.role == "lead"))
        db.execute(
            update(Crisis)
            .where(Crisis.id == crisis_id)
            .values(lead_user_id=user.id, lead_username=user.username, version=Crisis.version + 1)
            .execution_options(synchronize_session=False)
        )
    row = CrisisRole(
        crisis_id=crisis.id, user_id=user.id, username=user.username, role=role,
        organisation_id=user.organisation_id if role == "liaison" else None, assigned_by=actor.username,
        assigned_at=now(),
    )  # fmt: skip
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"{user.username} already holds the role {role!r} on crisis {crisis_id}",
            kind="crisis_role_held",
            params={"user": user.username},
        ) from None
    log_event(db, crisis_id=crisis_id, actor=actor, kind="role", summary=f"{user.username} is now {role}",
              params={"user": user.username, "role": role})  # fmt: skip
    audit.record(db, actor=actor, action="crisis.role", target=f"crisis:{crisis_id}",
                 details={"user": user.username, "role": role})  # fmt: skip
    notices.notify(
        db, kind="crisis.role", subject=notices.Text("Crisis #%(id)s: you are now %(role)s", {"id": crisis_id, "role": notices.Text(role)}), target=f"crisis:{crisis_id}",
        user_ids=[user.id],
    )  # fmt: skip
    return row


def list_roles(db: Session, *, crisis_id: int) -> list[CrisisRole]:
    return list(
        db.execute(
            select(CrisisRole)
            .where(CrisisRole.crisis_id == crisis_id)
            .order_by(CrisisRole.role, CrisisRole.id)
        ).scalars()
    )


def remove_role(db: Session, *, actor: Actor, crisis_id: int, username: str, role: str) -> None:
    """Take a role back.  The lead is not removed, only handed over (assign another lead), so a
    crisis never runs without one."""
    require_centre(db, actor, doing="remove roles on a crisis")
    if role not in CRISIS_ROLES:
        raise InvalidInput(
            f"unknown crisis role {role!r}; one of: {', '.join(CRISIS_ROLES)}", kind="unknown_crisis_role"
        )
    get_crisis(db, crisis_id=crisis_id)
    if role == "lead":
        raise Conflict("the lead is handed over, not removed: assign another lead", kind="lead_not_removed")
    name = username.strip().lower()
    row = db.execute(
        select(CrisisRole).where(
            CrisisRole.crisis_id == crisis_id, CrisisRole.username == name, CrisisRole.role == role
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"{username!r} holds no role {role!r} on crisis {crisis_id}",
            kind="crisis_role_not_held",
            params={"user": username},
        )
    db.delete(row)
    db.flush()
    log_event(db, crisis_id=crisis_id, actor=actor, kind="role.removed", summary=f"{name} is no longer {role}",
              params={"user": name, "role": role})  # fmt: skip
    audit.record(db, actor=actor, action="crisis.role.removed", target=f"crisis:{crisis_id}",
                 details={"user": name, "role": role})  # fmt: skip
