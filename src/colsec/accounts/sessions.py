"""Server-side web sessions: a random id in the cookie, its SHA-256 in ``login_session``.

A signed cookie alone cannot be ended before it expires; a row can.  Logout
deletes the row; a password change or disabling the account deletes every row
of that user.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from colsec.accounts.models import LoginSession, User

__all__ = ["end_session", "end_user_sessions", "session_owner", "start_session"]


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(db: Session, *, user: User, max_age_seconds: int) -> str:
    """A fresh random session id for ``user``; only its hash is stored."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.add(
        LoginSession(
            id_hash=_hash(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=max_age_seconds),
        )
    )
    # Expired rows of anyone go as new sessions start: the table stays the size of live sessions.
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    db.flush()
    return session_id


def session_owner(db: Session, session_id: str) -> User | None:
    """The active user holding this live session, or None."""
    if not session_id or len(session_id) > 100:
        return None
    row = db.execute(
        select(User, LoginSession.expires_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id_hash == _hash(session_id))
    ).first()
    if row is None:
        return None
    user, expires = row
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires < datetime.now(UTC) or not user.is_active:
        return None
    return user


def end_session(db: Session, session_id: str) -> None:
    db.execute(delete(LoginSession).where(LoginSession.id_hash == _hash(session_id)))
    db.flush()


def end_user_sessions(db: Session, *, user_id: int) -> None:
    db.execute(delete(LoginSession).where(LoginSession.user_id == user_id))
    db.flush()
