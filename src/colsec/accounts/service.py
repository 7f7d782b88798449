"""Accounts: organisations with their STIX identity, users, tokens, authentication with lockout.

One failure counter per canonical (lower-cased) username serves every login path
(form, JSON, Basic, token-with-username), so no path can be used to bypass lockout.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from colsec.accounts.models import ApiToken, Organisation, User
from colsec.accounts.passwords import hash_password, hash_token, new_token, verify_password
from colsec.accounts.roles import SYSTEM, Actor, Role
from colsec.errors import Conflict, InvalidInput, Locked, NotFound, Unauthorized
from colsec.stix.ids import now_timestamp
from colsec.stix.tlp import TLP, marking_id
from colsec.store import audit
from colsec.store.service import import_objects

__all__ = [
    "actor_for",
    "authenticate_password",
    "authenticate_token",
    "create_organisation",
    "create_token",
    "create_user",
    "get_org_by_name",
    "list_organisations",
    "list_users",
]

_USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,79}$")
_SHORT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
ORG_NAMESPACE = uuid.UUID("0b6f2d1e-52b4-4d2c-9a3e-6f1d7c4e8a90")


def _canonical(username: str) -> str:
    return username.strip().lower()


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
    if not name.strip():
        raise InvalidInput("organisation name must not be empty")
    if not _SHORT_RE.match(short_name):
        raise InvalidInput(f"invalid short name {short_name!r}: letters, digits, '-' and '_' only")
    if kind not in ("member", "crisis_centre", "external"):
        raise InvalidInput(f"unknown organisation kind {kind!r}")
    if db.execute(
        select(Organisation.id).where((Organisation.name == name) | (Organisation.short_name == short_name))
    ).first():
        raise Conflict(f"organisation {short_name!r} already exists")
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
        raise NotFound(f"organisation {name!r} not found")
    return org


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
    uname = _canonical(username)
    if not _USERNAME_RE.match(uname):
        raise InvalidInput(f"invalid username {username!r}")
    try:
        role = Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; one of {', '.join(r.value for r in Role)}") from None
    if password is not None and len(password) < 8:
        raise InvalidInput("password must have at least 8 characters")
    if language not in ("en", "ru"):
        raise InvalidInput("language must be 'en' or 'ru'")
    if db.execute(select(User.id).where(User.username == uname)).first():
        raise Conflict(f"user {uname!r} already exists")
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


def list_users(db: Session, *, org_id: int | None = None) -> list[User]:
    stmt = select(User).order_by(User.username)
    if org_id is not None:
        stmt = stmt.where(User.organisation_id == org_id)
    return list(db.execute(stmt).scalars())


def create_token(
    db: Session, *, actor: Actor, user: User, name: str = "api", expires_days: int | None = None
) -> str:
    """Create an API token; the clear value is returned once and only its hash is stored."""
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


def actor_for(db: Session, user: User) -> Actor:
    org = db.get(Organisation, user.organisation_id)
    return Actor(
        username=user.username,
        role=Role(user.role),
        org_id=user.organisation_id,
        org_short_name=org.short_name if org else None,
        user_id=user.id,
        language=user.language,
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def _check_lock(user: User | None) -> None:
    if user is not None and user.locked_until is not None:
        until = _aware(user.locked_until)
        if until is not None and until > datetime.now(UTC):
            raise Locked("account temporarily locked after repeated failed logins; try again later")


def _register_failure(db: Session, user: User | None, max_failures: int, lockout_seconds: int) -> None:
    if user is None or max_failures >= 1 << 30:
        return
    # Conditional UPDATE: concurrent failures all count (no read-modify-write race).
    db.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
    db.refresh(user)
    if user.failed_logins >= max_failures:
        user.locked_until = datetime.now(UTC) + timedelta(seconds=lockout_seconds)
        audit.record(db, actor=SYSTEM, action="user.locked", target=user.username)
    db.flush()


def authenticate_password(
    db: Session, *, username: str, password: str, max_failures: int = 5, lockout_seconds: int = 900
) -> User:
    """Check a password; failures count towards lockout.  The caller must commit even on failure."""
    user = db.execute(select(User).where(User.username == _canonical(username))).scalar_one_or_none()
    _check_lock(user)
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        _register_failure(db, user, max_failures, lockout_seconds)
        raise Unauthorized("invalid username or password")
    if user.failed_logins:
        user.failed_logins = 0
        user.locked_until = None
        db.flush()
    return user


def actor_for_valid_token(db: Session, *, token: str, username: str | None = None) -> Actor | None:
    """The caller of a valid, unrevoked, unexpired token of an active, unlocked user, in one query.

    The per-request fast path (TAXII clients send a token with every page).  Anything
    else answers None and the caller takes :func:`authenticate_token`, which names the
    problem and counts the failure.
    """
    row = db.execute(
        select(
            User.id,
            User.username,
            User.role,
            User.organisation_id,
            User.language,
            User.is_active,
            User.locked_until,
            ApiToken.revoked_at,
            ApiToken.expires_at,
            Organisation.short_name,
        )  # fmt: skip
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is None or not row.is_active or row.revoked_at is not None:
        return None
    if username is not None and _canonical(username) != row.username:
        return None
    now = datetime.now(UTC)
    expires, locked = _aware(row.expires_at), _aware(row.locked_until)
    if (expires is not None and expires < now) or (locked is not None and locked > now):
        return None
    return Actor(
        username=row.username,
        role=Role(row.role),
        org_id=row.organisation_id,
        org_short_name=row.short_name,
        user_id=row.id,
        language=row.language,
    )


def authenticate_token(
    db: Session,
    *,
    token: str,
    username: str | None = None,
    max_failures: int = 5,
    lockout_seconds: int = 900,
    count_failures: bool = True,
) -> User:
    """Resolve a bearer/Basic token; with a username (Basic), failures count against that user.

    ``count_failures=False`` is the read-only first attempt; a failure is then re-checked
    in a write transaction that counts it exactly once.
    """
    if not count_failures:
        max_failures = 1 << 30
    row = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    named = None
    if username is not None:
        named = db.execute(select(User).where(User.username == _canonical(username))).scalar_one_or_none()
        _check_lock(named)
    if row is None:
        _register_failure(db, named, max_failures, lockout_seconds)
        raise Unauthorized("invalid credentials")
    tok, user = row
    now = datetime.now(UTC)
    expires = _aware(tok.expires_at)
    expired = expires is not None and expires < now
    if (
        tok.revoked_at is not None
        or expired
        or not user.is_active
        or (named is not None and named.id != user.id)
    ):
        _register_failure(db, named, max_failures, lockout_seconds)
        raise Unauthorized("invalid credentials")
    _check_lock(user)
    return user
