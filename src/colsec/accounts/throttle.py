"""Login throttling per (canonical username, source address) with exponential backoff.

Replaces account lockout: a lockout lets any outsider stop a peer's sync and, by
answering differently, tells which usernames exist.  The key includes the source,
so an attacker slows only itself; keys exist for unknown usernames too; the state
lives in the database so every worker process sees it.

The same table and the same atomic upsert count requests to anonymous, rate-limited routes
(the public feed): ``count_request`` keeps a fixed window per (route key, source) under a
name no username can take (it starts with ``#``), so ``colsec serve --workers N`` limits a
client once for all workers, as it throttles logins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.models import LoginThrottle
from colsec.db import is_sqlite

__all__ = ["Throttle", "clear", "count_request", "is_blocked", "register_failure"]


@dataclass(frozen=True, slots=True)
class Throttle:
    """``free`` failures pass unslowed; then each failure doubles the wait from ``base`` up to ``cap``."""

    free: int = 5
    base_seconds: float = 1.0
    cap_seconds: float = 900.0

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return float(min(self.cap_seconds, self.base_seconds * 2 ** min(failures - self.free, 40)))


def _key(username: str, source: str | None) -> tuple[str, str]:
    return username.strip().lower()[:80], (source or "unknown")[:64]


def _aware(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=UTC)


def is_blocked(db: Session, *, username: str, source: str | None) -> bool:
    user, src = _key(username, source)
    until = db.execute(
        select(LoginThrottle.blocked_until).where(LoginThrottle.username == user, LoginThrottle.source == src)
    ).scalar()
    until = _aware(until)
    return until is not None and until > datetime.now(UTC)


def _upsert_one(db: Session, user: str, src: str, now: datetime) -> int:
    """Add one to the key's counter atomically (``ON CONFLICT``: concurrent hits all count)."""
    table = LoginThrottle.__table__
    insert = sqlite.insert(LoginThrottle) if is_sqlite(db) else postgresql.insert(LoginThrottle)
    stmt = insert.values(username=user, source=src, failures=1, updated_at=now).on_conflict_do_update(
        index_elements=["username", "source"],
        set_={"failures": table.c.failures + 1, "updated_at": now},
    )
    db.execute(stmt)
    count: int = db.execute(
        select(LoginThrottle.failures).where(LoginThrottle.username == user, LoginThrottle.source == src)
    ).scalar_one()
    return count


def count_request(
    db: Session, *, key: str, source: str | None, limit: int, window_seconds: float = 60.0,
    now: datetime | None = None,
) -> bool:  # fmt: skip
    """Count one request of ``source`` to the route ``key``; False once ``limit`` is passed in the window.

    ``blocked_until`` holds the end of the current window.  The upsert's row lock orders
    concurrent requests of every worker, so the first one past the window's end starts the
    next window and every other one counts in it.
    """
    user, src = _key("#" + key, source)
    at = now or datetime.now(UTC)
    count = _upsert_one(db, user, src, at)
    until = _aware(
        db.execute(
            select(LoginThrottle.blocked_until).where(
                LoginThrottle.username == user, LoginThrottle.source == src
            )
        ).scalar()
    )
    if until is None or until <= at:  # a new window: this request is its first
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == user, LoginThrottle.source == src)
            .values(failures=1, blocked_until=at + timedelta(seconds=window_seconds))
        )
        db.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < at - timedelta(days=1)))
        return True
    return count <= limit


def register_failure(db: Session, *, username: str, source: str | None, policy: Throttle) -> None:
    """Count one failure atomically (``ON CONFLICT``: concurrent failures all count)."""
    user, src = _key(username, source)
    now = datetime.now(UTC)
    failures = _upsert_one(db, user, src, now)
    wait = policy.delay(failures)
    if wait > 0:
        db.execute(
            update(LoginThrottle)
            .where(LoginThrottle.username == user, LoginThrottle.source == src)
            .values(blocked_until=now + timedelta(seconds=wait))
        )
    # Old keys of sprayed or mistyped names are dropped as new failures arrive.
    db.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - timedelta(days=1)))


def clear(db: Session, *, username: str, source: str | None) -> None:
    user, src = _key(username, source)
    db.execute(delete(LoginThrottle).where(LoginThrottle.username == user, LoginThrottle.source == src))
