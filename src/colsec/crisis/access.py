"""Who may act: role checks and organisation checks shared by every crisis verb.

Alliance-level steps (crises, consultations, acceptance of offers) belong to
coordinators of the crisis centre; national steps belong to the member
organisation that owns the incident, request or resource.  Admins pass role checks.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.models import Organisation
from colsec.accounts.roles import Actor, Role
from colsec.errors import Forbidden

__all__ = ["NATIONAL_ROLES", "allows", "require_centre", "require_org", "require_role"]

NATIONAL_ROLES = (Role.ANALYST, Role.REPRESENTATIVE)


def require_role(actor: Actor, *roles: Role, doing: str) -> None:
    if actor.role == Role.ADMIN or actor.role in roles:
        return
    raise Forbidden(
        f"role '{actor.role}' may not {doing}; needs one of: {', '.join(r.value for r in roles)}",
        details={"role": str(actor.role), "allowed": [r.value for r in roles]},
    )


def require_org(actor: Actor, org_id: int, *, doing: str) -> None:
    """National steps: the caller must belong to the owning organisation (the node itself passes)."""
    if actor.is_system or actor.org_id == org_id:
        return
    raise Forbidden(f"only the owning organisation may {doing}", details={"needs": "owning_organisation"})


def require_centre(db: Session, actor: Actor, *, doing: str) -> None:
    """Alliance steps: a coordinator (or admin) of a crisis-centre organisation."""
    require_role(actor, Role.COORDINATOR, doing=doing)
    if actor.is_system:
        return
    kind = db.execute(select(Organisation.kind).where(Organisation.id == actor.org_id)).scalar()
    if kind != "crisis_centre":
        raise Forbidden(f"only the crisis centre may {doing}", details={"needs": "crisis_centre"})


def allows(check: Callable[[], object]) -> bool:
    """Whether one of the checks above (or a verb's own check built on them) lets the actor through.

    Pages ask this before showing an action, so what a role is shown is exactly what the
    verb will accept, from the same code.
    """
    try:
        check()
    except Forbidden:
        return False
    return True


def org_kind(db: Session, org_id: int | None) -> str | None:
    if org_id is None:
        return None
    return db.execute(select(Organisation.kind).where(Organisation.id == org_id)).scalar()
