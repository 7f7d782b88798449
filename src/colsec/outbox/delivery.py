"""Delivering due outbox rows: claim with a lease, send outside any transaction, record the outcome.

A deliverer claims a batch in one short write transaction (PostgreSQL: ``FOR UPDATE
SKIP LOCKED``, so concurrent deliverers take disjoint rows; SQLite: writers are
serialised by ``BEGIN IMMEDIATE``), counting the attempt and leasing each row to
itself.  Once half the lease has gone, each row's lease is renewed just before its
send, so a slow batch never lets a live send be taken over.  A deliverer killed mid-send leaves a ``sending`` row whose
lease runs out; it is then due again and another deliverer sends it once more with
the same idempotency key, which the receiver uses to drop the duplicate: effects
happen exactly once, attempts at least once.  Failures back off exponentially; after
``max_attempts`` (or a permanent failure) the row is ``dead`` with its last error,
for an admin to read and retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update

from colsec.db import Database
from colsec.outbox.models import OutboxMessage, Status

__all__ = ["Claimed", "DeliveryFailed", "RetryPolicy", "Sender", "deliver_due"]

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """A send did not take effect; ``permanent`` when retrying cannot help (the row goes dead now)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Claimed:
    """What a sender needs of a claimed row (a plain value: no session travels with it)."""

    id: int
    channel: str
    destination: str
    event: str
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


class Sender(Protocol):
    """Delivers one message of its channel, raising ``DeliveryFailed`` when it did not take effect."""

    def send(self, message: Claimed) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base: timedelta = field(default=timedelta(seconds=10))
    cap: timedelta = field(default=timedelta(hours=1))
    lease: timedelta = field(default=timedelta(seconds=60))

    def backoff(self, attempts: int) -> timedelta:
        """Wait before attempt ``attempts + 1``: base, 2×base, 4×base ... up to ``cap``."""
        wait: timedelta = self.base * (2 ** max(0, attempts - 1))
        return min(wait, self.cap)


DEFAULT_POLICY = RetryPolicy()


def _clock(now: datetime | None) -> Callable[[], datetime]:
    if now is None:
        return lambda: datetime.now(UTC)
    return lambda: now


def deliver_due(
    database: Database,
    *,
    worker_id: str,
    senders: Mapping[str, Sender],
    limit: int = 50,
    now: datetime | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
) -> int:
    """Deliver up to ``limit`` due rows of the channels in ``senders``; returns how many took effect.

    ``now`` fixes the clock (tests step through backoff and lease expiry with it).
    """
    clock = _clock(now)
    leased_until = clock() + policy.lease
    claimed = _claim(database, worker_id, list(senders), limit, clock(), policy)
    ours = {m.id for m in claimed}
    delivered = 0
    for i, message in enumerate(claimed):
        if clock() + policy.lease / 2 > leased_until:  # half the lease gone: extend the rest of the batch
            leased_until = clock() + policy.lease
            ours = _renew(database, [m.id for m in claimed[i:]], worker_id, leased_until)
        if message.id not in ours:
            continue  # our lease ran out and another deliverer has the row now
        try:
            senders[message.channel].send(message)
        except DeliveryFailed as exc:
            _fail(database, message, worker_id, exc.reason, exc.permanent, clock(), policy)
            continue
        except Exception as exc:  # a sender bug must not stall the queue: recorded, retried, then dead
            log.exception("outbox sender for %s failed", message.channel)
            _fail(database, message, worker_id, f"{type(exc).__name__}: {exc}", False, clock(), policy)
            continue
        _done(database, message.id, clock())
        delivered += 1
    return delivered


def _claim(
    database: Database, worker_id: str, channels: list[str], limit: int, now: datetime, policy: RetryPolicy
) -> list[Claimed]:
    if not channels:
        return []
    m = OutboxMessage
    expired = and_(m.status == Status.SENDING, m.lease_until < now)
    with database.unit_of_work() as db:
        # A row whose every attempt ended with a dead deliverer goes dead too, instead of looping.
        db.execute(
            update(m)
            .where(expired, m.attempts >= policy.max_attempts, m.channel.in_(channels))
            .values(
                status=Status.DEAD, lease_owner=None, lease_until=None,
                last_error="the deliverer stopped during the last attempt (lease expired)",
            )
        )  # fmt: skip
        due = (
            select(m.id)
            .where(or_(and_(m.status == Status.PENDING, m.next_attempt_at <= now), expired))
            .where(m.channel.in_(channels))
            .order_by(m.next_attempt_at, m.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = db.execute(
            update(m)
            .where(m.id.in_(due))
            .values(
                status=Status.SENDING, lease_owner=worker_id, lease_until=now + policy.lease,
                attempts=m.attempts + 1,
            )
            .returning(m.id, m.channel, m.destination, m.event, m.payload, m.idempotency_key, m.attempts)
        ).all()  # fmt: skip
    return sorted((Claimed(*r) for r in rows), key=lambda c: c.id)


def _renew(database: Database, ids: list[int], worker_id: str, until: datetime) -> set[int]:
    """Extend our lease on ``ids``; returns those still ours."""
    m = OutboxMessage
    with database.unit_of_work() as db:
        rows = db.execute(
            update(m)
            .where(m.id.in_(ids), m.status == Status.SENDING, m.lease_owner == worker_id)
            .values(lease_until=until)
            .returning(m.id)
        ).scalars()
        return set(rows)


def _done(database: Database, message_id: int, now: datetime) -> None:
    """The effect happened: delivered, whoever holds the lease now (their late failure must not undo it)."""
    m = OutboxMessage
    with database.unit_of_work() as db:
        db.execute(
            update(m)
            .where(m.id == message_id, m.status.in_([Status.SENDING, Status.PENDING]))
            .values(
                status=Status.DELIVERED, delivered_at=now, lease_owner=None, lease_until=None, last_error=None
            )
        )


def _fail(
    database: Database,
    message: Claimed,
    worker_id: str,
    reason: str,
    permanent: bool,
    now: datetime,
    policy: RetryPolicy,
) -> None:
    m = OutboxMessage
    dead = permanent or message.attempts >= policy.max_attempts
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None, "last_error": reason[:2000]}
    if dead:
        values["status"] = Status.DEAD
    else:
        values["status"] = Status.PENDING
        values["next_attempt_at"] = now + policy.backoff(message.attempts)
    with database.unit_of_work() as db:
        db.execute(
            update(m)
            .where(m.id == message.id, m.status == Status.SENDING, m.lease_owner == worker_id)
            .values(**values)
        )
