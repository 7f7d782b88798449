"""Users and API tokens over the JSON API.

The accounts service decides who may manage whom: an organisation admin its own
organisation only (anyone else's user answers 404, as if absent), the node
operator every organisation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from colsec.accounts import service
from colsec.accounts.schemas import PasswordIn, TokenIn, TokenOut, UserIn, UserOut
from colsec.web.deps import ActorDep, DbDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/users", response_model=list[UserOut])
def list_users(db: DbDep, actor: ActorDep) -> Any:
    return service.list_users(db, actor=actor)


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(db: DbDep, actor: ActorDep, data: UserIn) -> Any:
    org_name = data.organisation or actor.org_short_name or ""
    org = service.get_managed_org(db, actor=actor, name=org_name)
    return service.create_user(
        db,
        actor=actor,
        username=data.username,
        password=data.password,
        role=data.role,
        org=org,
        display_name=data.display_name,
        language=data.language,
    )


@router.get("/users/{username}", response_model=UserOut)
def get_user(db: DbDep, actor: ActorDep, username: str) -> Any:
    return service.get_managed_user(db, actor=actor, username=username)


@router.post("/users/{username}/tokens", response_model=TokenOut, status_code=201)
def create_token(db: DbDep, actor: ActorDep, username: str, data: TokenIn) -> Any:
    user = service.get_managed_user(db, actor=actor, username=username)
    token = service.create_token(db, actor=actor, user=user, name=data.name, expires_days=data.expires_days)
    return {"username": user.username, "name": data.name, "token": token}


@router.post("/users/{username}/disable", response_model=UserOut)
def disable_user(db: DbDep, actor: ActorDep, username: str) -> Any:
    user = service.get_managed_user(db, actor=actor, username=username)
    return service.set_active(db, actor=actor, user=user, active=False)


@router.post("/users/{username}/enable", response_model=UserOut)
def enable_user(db: DbDep, actor: ActorDep, username: str) -> Any:
    user = service.get_managed_user(db, actor=actor, username=username)
    return service.set_active(db, actor=actor, user=user, active=True)


@router.post("/users/{username}/password", status_code=204)
def set_password(db: DbDep, actor: ActorDep, username: str, data: PasswordIn) -> None:
    """Change a password (one's own, or as its organisation's admin); every session of the user ends."""
    if actor.user_id is not None and username.strip().lower() == actor.username:
        user = service.get_self(db, actor=actor)
    else:
        user = service.get_managed_user(db, actor=actor, username=username)
    service.set_password(
        db, actor=actor, user=user, password=data.password, current_password=data.current_password
    )


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(db: DbDep, actor: ActorDep, token_id: Annotated[int, Path(ge=1, le=2**31 - 1)]) -> None:
    service.revoke_token(db, actor=actor, token_id=token_id)
