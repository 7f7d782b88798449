"""A user's own profile and, for an organisation's administrators, its users' e-mail addresses."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from colsec.accounts.email import MAX_EMAIL, get_user, set_email
from colsec.accounts.models import Organisation, User
from colsec.errors import NotFound
from colsec.web.deps import ActorDep, DbDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class EmailIn(BaseModel):
    email: str = Field(max_length=MAX_EMAIL + 50, description="the address; an empty string clears it")


def _out(db: DbDep, user: User) -> dict[str, Any]:
    org = db.get(Organisation, user.organisation_id)
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "role": user.role,
        "organisation": org.short_name if org else None,
        "language": user.language,
    }


@router.get("/me")
def me(db: DbDep, actor: ActorDep) -> dict[str, Any]:
    if actor.user_id is None:
        raise NotFound("no user account behind this caller")
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotFound("no user account behind this caller")
    return _out(db, user)


@router.patch("/me")
def update_me(body: EmailIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("no user account behind this caller")
    return _out(db, set_email(db, actor=actor, user=user, email=body.email))


@router.patch("/users/{username}")
def update_user(username: str, body: EmailIn, db: DbDep, actor: ActorDep) -> dict[str, Any]:
    """Administrators change the address of their own organisation's users (others: 403/404)."""
    user = get_user(db, username)
    if actor.org_id != user.organisation_id and not actor.is_operator:
        raise NotFound(f"user {username!r} not found")  # another organisation's users are not listed
    return _out(db, set_email(db, actor=actor, user=user, email=body.email))
