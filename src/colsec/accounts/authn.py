"""Authentication by password or API token, throttled per (username, source).

One throttle key per canonical username and source address serves every path
(form, JSON, Basic, token-with-username).  Every failure answers the same
``Unauthorized`` whether the user is unknown, the secret wrong or the key
throttled; a valid token is never throttled, so an outsider cannot stop a
peer's sync by failing logins in its name.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, select
from sqlalchemy.orm import Session

from colsec.accounts import throttle
from colsec.accounts.models import ApiToken, Organisation, User
from colsec.accounts.passwords import hash_token, verify_password
from colsec.accounts.roles import Actor, Role
from colsec.accounts.throttle import Throttle
from colsec.db import RawQuery, ReadUnit, compile_raw, dialect_of, fetch_raw
from colsec.errors import Unauthorized

__all__ = [
    "PASSWORD_FAILED",
    "TOKEN_CALLER_COLUMNS",
    "TOKEN_FAILED",
    "actor_for_valid_token",
    "actor_of_token_row",
    "authenticate_password",
    "authenticate_token",
    "token_caller_select",
]

PASSWORD_FAILED = "invalid username or password"
TOKEN_FAILED = "invalid credentials"


def _canonical(username: str) -> str:
    return username.strip().lower()


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands timestamps back without a zone; they were written in UTC."""
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def authenticate_password(
    db: Session,
    *,
    username: str,
    password: str,
    source: str | None = None,
    policy: Throttle | None = None,
    reader: Session | None = None,
) -> User:
    """Check a password.  The caller must commit even on failure (the throttle counts).

    ``reader``: a read-only session for the lookups, so that the hash check (argon2id: a
    memory-hard tenth of a second, seconds on a loaded host) runs before ``db`` issues its
    first statement.  On SQLite that statement takes the node's one write lock (``BEGIN
    IMMEDIATE``), and every writer, jobs included, queued behind each login's hash.
    """
    policy = policy or Throttle()
    uname = _canonical(username)
    look = reader if reader is not None else db
    if throttle.is_blocked(look, username=uname, source=source):
        verify_password(None, password)  # same work, same time as a wrong password
        raise Unauthorized(PASSWORD_FAILED)
    found = look.execute(
        select(User.id, User.password_hash, User.is_active).where(User.username == uname)
    ).one_or_none()
    ok = verify_password(found.password_hash if found else None, password)
    if reader is not None:
        reader.rollback()  # the read snapshot ends before the writes begin
    if not ok or found is None or not found.is_active:
        throttle.register_failure(db, username=uname, source=source, policy=policy)
        db.flush()
        raise Unauthorized(PASSWORD_FAILED)
    throttle.clear(db, username=uname, source=source)
    db.flush()
    user = db.get(User, found.id)
    if user is None or not user.is_active:  # removed or disabled while the hash was checked
        raise Unauthorized(PASSWORD_FAILED)
    return user


def token_caller_select() -> Select[*tuple[Any, ...]]:
    """The caller of a token hash (bound as ``token_hash``): the columns :func:`actor_of_token_row` reads.

    Public so that a hot read may add its own columns and joins (the TAXII object by id adds
    the collection's access row) and learn both in one statement.
    """
    return (
        select(
            User.id,
            User.username,
            User.role,
            User.organisation_id,
            User.language,
            User.is_active,
            User.node_operator,
            ApiToken.revoked_at,
            ApiToken.expires_at,
            Organisation.short_name,
        )  # fmt: skip
        .join(ApiToken, ApiToken.user_id == User.id)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


TOKEN_CALLER_COLUMNS = 10  # the leading columns of a token_caller_select() row


# Built and compiled once per dialect: the statement is the same for every request, only the
# token's hash varies, and it runs as a driver tuple (no Row, no ORM result): TAXII clients
# pay it on every page and every object.
@functools.lru_cache(maxsize=4)
def _token_caller(dialect: Dialect) -> RawQuery:
    return compile_raw(token_caller_select(), dialect)


def actor_for_valid_token(db: Session | ReadUnit, *, token: str, username: str | None = None) -> Actor | None:
    """The caller of a valid, unrevoked, unexpired token of an active user, in one query.

    The per-request fast path (TAXII clients send a token with every page).  Anything
    else answers None and the caller takes :func:`authenticate_token`, which counts
    the failure.
    """
    rows = fetch_raw(db, _token_caller(dialect_of(db)), {"token_hash": hash_token(token)})
    return actor_of_token_row(rows[0], username) if rows else None


def actor_of_token_row(row: Sequence[Any], username: str | None) -> Actor | None:
    """The caller a ``token_caller_select()`` row stands for, or None unless the token is valid now."""
    user_id, name, role, org_id, language, is_active, node_operator, revoked_at, expires_at, short_name = row[
        :TOKEN_CALLER_COLUMNS
    ]
    if not is_active or revoked_at is not None:
        return None
    if username is not None and _canonical(username) != name:
        return None
    expires = _aware(_as_datetime(expires_at))
    if expires is not None and expires < datetime.now(UTC):
        return None
    return Actor(
        username=name,
        role=Role(role),
        org_id=org_id,
        org_short_name=short_name,
        user_id=user_id,
        language=language,
        node_operator=bool(node_operator),
    )


def _as_datetime(value: datetime | str | None) -> datetime | None:
    """The driver's value of a timestamp column: SQLite hands back the stored ISO text."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def authenticate_token(
    db: Session,
    *,
    token: str,
    username: str | None = None,
    source: str | None = None,
    policy: Throttle | None = None,
    count_failures: bool = True,
) -> User:
    """Resolve a bearer/Basic token; with a username (Basic), a failure counts against that name.

    A valid token succeeds even while the name is throttled: only guessing is slowed.
    ``count_failures=False`` is the read-only first attempt; a failure is then re-checked
    in a write transaction that counts it exactly once.
    """
    row = db.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == hash_token(token))
    ).first()
    if row is not None:
        tok, user = row
        expires = _aware(tok.expires_at)
        valid = (
            tok.revoked_at is None
            and (expires is None or expires >= datetime.now(UTC))
            and user.is_active
            and (username is None or _canonical(username) == user.username)
        )
        if valid:
            return user
    if username is not None and count_failures:
        uname = _canonical(username)
        if not throttle.is_blocked(db, username=uname, source=source):
            throttle.register_failure(db, username=uname, source=source, policy=policy or Throttle())
            db.flush()
    raise Unauthorized(TOKEN_FAILED)
