"""Accounts: organisations with their STIX identity, users and tokens, and who may manage them.

The node operator (CLI, ``SYSTEM``, or an admin flagged ``node_operator``) manages
every organisation; an organisation admin manages only its own.  Another
organisation's user answers exactly like an absent one (404), never 403, so an
admin cannot probe which accounts exist elsewhere.  Authentication lives in
``colsec.accounts.authn``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from colsec.accounts.authn import actor_for_valid_token, authenticate_password, authenticate_token
from colsec.accounts.models import ApiToken, Organisation, User
from colsec.accounts.passwords import hash_password, hash_token, new_token, verify_password
from colsec.accounts.roles import Actor, Role
from colsec.accounts.sessions import end_user_sessions
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store import audit
from colsec.store.service import import_objects

__all__ = [
    "actor_for",
    "actor_for_valid_token",
    "authenticate_password",
    "authenticate_token",
    "create_organisation",
    "create_token",
    "create_user",
    "get_managed_org",
    "get_managed_user",
    "get_org_by_name",
    "get_self",
    "list_organisations",
    "list_tokens",
    "list_users",
    "organisations_by_id",
    "revoke_token",
    "set_active",
    "set_node_operator",
    "set_password",
    "set_user_language",
]

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}\Z")
_SHORT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}\Z")
ORG_NAMESPACE = uuid.UUID("0b6f2d1e-52b4-4d2c-9a3e-6f1d7c4e8a90")


def _canonical(username: str) -> str:
    return username.strip().lower()


def _require_admin(actor: Actor) -> None:
    if not (actor.is_operator or actor.role == Role.ADMIN):
        raise Forbidden(f"role '{actor.role}' may not manage accounts", kind="accounts_admin_only")


def _require_operator(actor: Actor) -> None:
    if not actor.is_operator:
        raise Forbidden("only the node operator may do this", kind="operator_only")


def create_organisation(
    db: Session,
    *,
    actor: Actor,
    name: str,
    short_name: str,
    country: str | None = None,
    kind: str = "member",
    sector: str | None = None,
    identity_id: str | None = None,
) -> Organisation:
    """Create an organisation and publish its STIX identity (TLP:GREEN, so peers can name it)."""
    _require_operator(actor)
    if not name.strip():
        raise InvalidInput("organisation name must not be empty", kind="organisation_name_empty")
    if not _SHORT_RE.match(short_name):
        raise InvalidInput(
            f"invalid short name {short_name!r}: letters, digits, '-' and '_' only",
            kind="short_name_invalid",
            params={"name": short_name},
        )
    if kind not in ("member", "crisis_centre", "external"):
        raise InvalidInput(f"unknown organisation kind {kind!r}", kind="organisation_kind_unknown")
    if db.execute(
        select(Organisation.id).where((Organisation.name == name) | (Organisation.short_name == short_name))
    ).first():
        raise Conflict(
            f"organisation {short_name!r} already exists",
            kind="organisation_exists",
            params={"org": short_name},
        )
    ident = identity_id or f"identity--{uuid.uuid5(ORG_NAMESPACE, short_name)}"
    org = Organisation(
        name=name, short_name=short_name, identity_id=ident, country=country, kind=kind, sector=sector
    )
    db.add(org)
    db.flush()
    now = now_timestamp()
    identity = {
        "type": "identity",
        "spec_version": "2.1",
        "id": ident,
        "created": now,
        "modified": now,
        "name": name,
        "identity_class": "organization",
        "sectors": [sector] if sector else ["government"],
        "object_marking_refs": [marking_id(TLP.GREEN)],
    }
    if identity_id is None:
        import_objects(db, actor=actor, objects=[identity], owner_org_id=org.id, origin=None)
    audit.record(db, actor=actor, action="org.create", target=short_name, details={"kind": kind})
    return org


def get_org_by_name(db: Session, name: str) -> Organisation:
    org = db.execute(
        select(Organisation).where((Organisation.short_name == name) | (Organisation.name == name))
    ).scalar_one_or_none()
    if org is None:
        raise NotFound(f"organisation {name!r} not found", kind="unknown_organisation", params={"org": name})
    return org


def organisations_by_id(db: Session) -> dict[int, Organisation]:
    """Every organisation by id, for pages that name the owners of what they list."""
    return {o.id: o for o in db.execute(select(Organisation)).scalars()}


def list_organisations(db: Session) -> list[Organisation]:
    return list(db.execute(select(Organisation).order_by(Organisation.short_name)).scalars())


def create_user(
    db: Session,
    *,
    actor: Actor,
    username: str,
    password: str | None,
    role: Role | str,
    org: Organisation,
    display_name: str = "",
    email: str | None = None,
    language: str = "en",
) -> User:
    """Create a user in ``org``: the node operator anywhere, an organisation admin in its own only."""
    _require_admin(actor)
    if not actor.manages(org.id):
        raise NotFound(
            f"organisation {org.short_name!r} not found",
            kind="organisation_not_found",
            params={"org": org.short_name},
        )
    uname = _canonical(username)
    if not _USERNAME_RE.match(uname):
        raise InvalidInput(
            f"invalid username {username!r}", kind="username_invalid", params={"user": username}
        )
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(
            f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}", kind="role_unknown"
        ) from None
    if password is not None and len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", kind="password_too_short")
    if language not in ("en", "ru"):
        raise InvalidInput("language must be 'en' or 'ru'", kind="unknown_language")
    if db.execute(select(User.id).where(User.username == uname)).first():
        raise Conflict(f"user {uname!r} already exists", kind="user_exists", params={"user": uname})
    user = User(
        username=uname,
        display_name=display_name or uname,
        email=email,
        password_hash=hash_password(password) if password else None,
        role=role.value,
        organisation_id=org.id,
        language=language,
    )
    db.add(user)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action="user.create",
        target=uname,
        details={"role": role.value, "org": org.short_name},
    )
    return user


def list_users(db: Session, *, actor: Actor, org_id: int | None = None) -> list[User]:
    """The users ``actor`` manages (an organisation admin: its own organisation's only)."""
    _require_admin(actor)
    stmt = select(User).order_by(User.username)
    if not actor.is_operator:
        org_id = actor.org_id
    if org_id is not None:
        stmt = stmt.where(User.organisation_id == org_id)
    return list(db.execute(stmt).scalars())


def get_managed_user(db: Session, *, actor: Actor, username: str) -> User:
    """A user ``actor`` may manage; anyone else's user is reported absent, exactly like a missing one."""
    _require_admin(actor)
    user = db.execute(select(User).where(User.username == _canonical(username))).scalar_one_or_none()
    if user is None or not actor.manages(user.organisation_id):
        raise NotFound(
            f"user {_canonical(username)!r} not found",
            kind="user_not_found",
            params={"user": _canonical(username)},
        )
    return user


def get_self(db: Session, *, actor: Actor) -> User:
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("user not found")
    return user


def get_managed_org(db: Session, *, actor: Actor, name: str) -> Organisation:
    """An organisation ``actor`` administers; others answer like a missing one."""
    _require_admin(actor)
    try:
        org = get_org_by_name(db, name)
    except NotFound:
        org = None
    if org is None or not actor.manages(org.id):
        raise NotFound(
            f"organisation {name!r} not found", kind="organisation_not_found", params={"org": name}
        )
    return org


def create_token(
    db: Session, *, actor: Actor, user: User, name: str = "api", expires_days: int | None = None
) -> str:
    """Create an API token; the clear value is returned once and only its hash is stored."""
    _require_admin(actor)
    if not actor.manages(user.organisation_id):
        raise NotFound(
            f"user {user.username!r} not found", kind="user_not_found", params={"user": user.username}
        )
    if not name.strip() or len(name) > 100:
        raise InvalidInput("token name must be 1-100 characters", kind="token_name_length")
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidInput("expires_days must be between 1 and 3650", kind="token_expiry_range")
    token = new_token()
    expires = datetime.now(UTC) + timedelta(days=expires_days) if expires_days else None
    db.add(
        ApiToken(
            user_id=user.id, name=name, token_hash=hash_token(token), prefix=token[:8], expires_at=expires
        )
    )
    db.flush()
    audit.record(db, actor=actor, action="token.create", target=user.username, details={"name": name})
    return token


def list_tokens(db: Session, *, actor: Actor) -> list[tuple[ApiToken, str]]:
    """Tokens (never their hashes' clear values) of the users ``actor`` manages, newest first."""
    _require_admin(actor)
    stmt = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    if not actor.is_operator:
        stmt = stmt.where(User.organisation_id == actor.org_id)
    return [(t, u) for t, u in db.execute(stmt).all()]


def revoke_token(db: Session, *, actor: Actor, token_id: int) -> ApiToken:
    _require_admin(actor)
    tok = db.get(ApiToken, token_id)
    user = db.get(User, tok.user_id) if tok is not None else None
    if tok is None or user is None or not actor.manages(user.organisation_id):
        raise NotFound(f"token {token_id} not found", kind="token_not_found", params={"token": token_id})
    if tok.revoked_at is None:
        tok.revoked_at = datetime.now(UTC)
        db.flush()
        audit.record(db, actor=actor, action="token.revoke", target=user.username, details={"name": tok.name})
    return tok


def set_password(
    db: Session, *, actor: Actor, user: User, password: str, current_password: str | None = None
) -> None:
    """A user changes its own password (proving the current one), or its admin does; every session ends."""
    if actor.user_id == user.id:
        if not verify_password(user.password_hash, current_password or ""):
            raise Forbidden("the current password is wrong", kind="current_password_wrong")
    else:
        _require_admin(actor)
        if not actor.manages(user.organisation_id):
            raise NotFound(
                f"user {user.username!r} not found", kind="user_not_found", params={"user": user.username}
            )
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", kind="password_too_short")
    user.password_hash = hash_password(password)
    db.flush()
    end_user_sessions(db, user_id=user.id)
    audit.record(db, actor=actor, action="user.password", target=user.username)


def set_active(db: Session, *, actor: Actor, user: User, active: bool) -> User:
    """Enable or disable an account; disabling ends its sessions (its tokens stop working too)."""
    _require_admin(actor)
    if not actor.manages(user.organisation_id):
        raise NotFound(
            f"user {user.username!r} not found", kind="user_not_found", params={"user": user.username}
        )
    user.is_active = active
    db.flush()
    if not active:
        end_user_sessions(db, user_id=user.id)
    audit.record(db, actor=actor, action="user.enable" if active else "user.disable", target=user.username)
    return user


def set_node_operator(db: Session, *, actor: Actor, user: User, operator: bool) -> User:
    """Grant or withdraw node-operator rights (the CLI only: an organisation admin cannot)."""
    _require_operator(actor)
    if operator and user.role != Role.ADMIN.value:
        raise InvalidInput("only an admin account can be a node operator", kind="operator_needs_admin")
    user.node_operator = operator
    db.flush()
    audit.record(db, actor=actor, action="user.node_operator", target=user.username, details={"on": operator})
    return user


def set_user_language(db: Session, *, actor: Actor, language: str) -> None:
    """Store the UI language as the user's setting (audited like any account change)."""
    if language not in ("en", "ru"):
        raise InvalidInput("language must be 'en' or 'ru'", kind="unknown_language")
    if actor.user_id is None:
        return
    user = db.get(User, actor.user_id)
    if user is None:
        raise NotFound("user not found")
    if user.language != language:
        user.language = language
        db.flush()
        audit.record(
            db, actor=actor, action="user.language", target=user.username, details={"language": language}
        )


def actor_for(db: Session, user: User) -> Actor:
    org = db.get(Organisation, user.organisation_id)
    return Actor(
        username=user.username,
        role=Role(user.role),
        org_id=user.organisation_id,
        org_short_name=org.short_name if org else None,
        user_id=user.id,
        language=user.language,
        node_operator=bool(user.node_operator),
    )
