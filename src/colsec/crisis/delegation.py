"""Delegation: a representative hands their organisation's answer in one consultation to another user.

Once delegated, only the delegate answers for that organisation (see ``consultation._acting_org``);
the unique (consultation, organisation) constraint allows one delegation per organisation.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from colsec.accounts.models import User
from colsec.accounts.roles import Actor, Role
from colsec.crisis import notify as notices
from colsec.crisis.access import require_role
from colsec.crisis.consultation import get_consultation, is_eligible
from colsec.crisis.errors import ConsultationClosed
from colsec.crisis.models import ConsultationDelegation
from colsec.crisis.states import now
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.store import audit

__all__ = ["delegate"]


def delegate(
    db: Session, *, actor: Actor, consultation_id: int, delegate_username: str
) -> ConsultationDelegation:
    """A representative hands their organisation's answer in this consultation to another user."""
    require_role(actor, Role.REPRESENTATIVE, doing="delegate a position")
    c = get_consultation(db, consultation_id=consultation_id)
    if c.status != "open":
        raise ConsultationClosed(f"consultation {c.id} is closed", kind="consultation_closed")
    if actor.org_id is None or not is_eligible(db, c.id, actor.org_id):
        raise Forbidden("your organisation is not eligible in this consultation", kind="org_not_eligible")
    user = db.execute(select(User).where(User.username == delegate_username.lower())).scalar_one_or_none()
    if user is None or not user.is_active:
        raise NotFound(
            f"user {delegate_username!r} not found", kind="unknown_user", params={"user": delegate_username}
        )
    if user.role not in (Role.REPRESENTATIVE.value, Role.ANALYST.value) or user.id == actor.user_id:
        raise InvalidInput("delegate to another representative or analyst", kind="delegate_role")
    d = ConsultationDelegation(
        consultation_id=c.id,
        organisation_id=actor.org_id,
        delegate_user_id=user.id,
        delegated_by=actor.username,
        created_at=now(),
    )
    try:
        with db.begin_nested():
            db.add(d)
            db.flush()
    except IntegrityError:
        raise Conflict(
            f"{actor.org_short_name} has already delegated in consultation {c.id}", kind="already_delegated"
        ) from None
    audit.record(
        db,
        actor=actor,
        action="crisis.consultation.delegate",
        target=f"consultation:{c.id}",
        details={"to": user.username},
    )
    notices.notify(
        db, kind="consultation.delegated", subject=notices.Text("Consultation #%(id)s: %(org)s delegated its answer to you",
                                                          {"id": c.id, "org": actor.org_short_name}),
        body=c.question, target=f"consultation:{c.id}", user_ids=[user.id],
    )  # fmt: skip
    return d
