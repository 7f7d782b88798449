"""Writing outbox rows (in the caller's transaction) and the admin's verbs: list and retry.

``put`` only inserts; nothing leaves the node here.  The caller's transaction decides:
a rolled-back change leaves no row, a committed one leaves exactly its rows, and a
second ``put`` with the same idempotency key is a no-op (``ON CONFLICT DO NOTHING``),
so a re-run of the same change never queues a second effect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from colsec.accounts.roles import Actor
from colsec.db import is_sqlite
from colsec.db_base import utcnow
from colsec.errors import Conflict, Forbidden, InvalidInput, NotFound
from colsec.outbox.models import Channel, OutboxMessage, Status
from colsec.store import audit

__all__ = ["Outgoing", "list_messages", "put", "retry"]

MAX_LIST = 500


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One effect to deliver: ``idempotency_key`` names it uniquely, across retries and re-runs."""

    channel: Channel
    destination: str
    event: str
    idempotency_key: str
    org_id: int | None
    payload: Mapping[str, Any] = field(default_factory=dict)


def put(db: Session, messages: Iterable[Outgoing]) -> int:
    """Queue ``messages`` in the caller's transaction; returns how many were new."""
    now = utcnow()
    rows = [
        {
            "channel": m.channel.value,
            "destination": m.destination,
            "event": m.event[:60],
            "payload": dict(m.payload),
            "idempotency_key": m.idempotency_key,
            "org_id": m.org_id,
            "status": Status.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }  # fmt: skip
        for m in messages
    ]
    if not rows:
        return 0
    dialect = sqlite if is_sqlite(db) else postgresql
    stmt = (
        dialect.insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return len(db.execute(stmt.returning(OutboxMessage.id)).all())


def _visible(actor: Actor) -> Any:
    """The node operator sees every row; an organisation's admin sees its own organisation's."""
    if actor.is_operator:
        return None
    if not actor.manages(actor.org_id) or actor.org_id is None:
        raise Forbidden("only an organisation's admin or the node operator sees its deliveries")
    return OutboxMessage.org_id == actor.org_id


def list_messages(
    db: Session, *, actor: Actor, status: str | None = None, before_id: int | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """Deliveries the caller administers, newest first (keyset paging on id)."""
    stmt = select(OutboxMessage)
    scope = _visible(actor)
    if scope is not None:
        stmt = stmt.where(scope)
    if status is not None:
        if status not in {s.value for s in Status}:
            raise InvalidInput(f"unknown status {status!r}: use one of {', '.join(s.value for s in Status)}")
        stmt = stmt.where(OutboxMessage.status == status)
    if before_id is not None:
        stmt = stmt.where(OutboxMessage.id < before_id)
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIST}")
    return list(db.execute(stmt.order_by(OutboxMessage.id.desc()).limit(limit)).scalars())


def retry(db: Session, *, actor: Actor, message_id: int) -> OutboxMessage:
    """Put a dead (or waiting) delivery back in the queue, due now, with a fresh attempt budget."""
    scope = _visible(actor)
    stmt = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if scope is not None:
        stmt = stmt.where(scope)
    message = db.execute(stmt).scalar_one_or_none()
    if message is None:
        raise NotFound(f"outbox message {message_id} not found")
    done = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status.in_([Status.DEAD, Status.PENDING]))
        .values(
            status=Status.PENDING, attempts=0, next_attempt_at=utcnow(), lease_owner=None, lease_until=None
        )
    )
    if getattr(done, "rowcount", 0) != 1:
        raise Conflict(
            f"outbox message {message_id} is {message.status}; only dead or pending ones are retried"
        )
    db.refresh(message)
    audit.record(db, actor=actor, action="outbox.retry", target=f"outbox:{message_id}")
    return message
