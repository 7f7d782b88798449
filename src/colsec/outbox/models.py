"""The ``outbox_message`` table: one row per effect that must leave the node exactly once."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = ["Channel", "OutboxMessage", "Status"]

TS = DateTime(timezone=True)


class Channel(StrEnum):
    """Where a message goes.  ``peer-push`` rows are federation's (its sender is wired in by the node)."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    PEER_PUSH = "peer-push"


class Status(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxMessage(Base):
    """Written in the transaction that causes it; a deliverer leases it, sends it, records the outcome.

    ``destination`` names the target in the channel's terms (an e-mail address, a webhook
    register entry ``<register>:<id>``); ``org_id`` is the organisation whose admins see it.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(20))
    destination: Mapped[str] = mapped_column(String(1000))
    event: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=Status.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TS, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(TS)
