"""Peers: the other nodes this one pulls from and pushes to.

The table sits with the store because the write gate needs it: what a peer sends on behalf of
this node's own organisation (``local_org_id``, as the peer knows us) must never pass as ours.
Federation configures peers and keeps their sync status here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from colsec.db_base import Base, BigId, utcnow

__all__ = ["Peer"]


class Peer(Base):
    """One remote node.  Status columns are updated by sync; configuration by operators."""

    __tablename__ = "peer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    username: Mapped[str | None] = mapped_column(String(120))
    token: Mapped[str | None] = mapped_column(String(500))
    # The peer node's organisation: owner of what it sends when the creator is unknown here.
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    # Our organisation as the peer knows it: TLP:RED / AMBER+STRICT objects it sends are addressed to it.
    local_org_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="SET NULL"))
    collections: Mapped[str] = mapped_column(Text, default="[]")  # JSON list; [] = every readable one
    push_collection: Mapped[str | None] = mapped_column(String(100))
    # Received objects join this local collection (default: the local one with the remote collection's id).
    local_collection: Mapped[str | None] = mapped_column(String(100))
    pull_interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_kind: Mapped[str | None] = mapped_column(String(40))
    last_error_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    objects_received: Mapped[int] = mapped_column(BigId, default=0)
    objects_rejected: Mapped[int] = mapped_column(BigId, default=0)
    objects_pushed: Mapped[int] = mapped_column(BigId, default=0)
    newest_date_added: Mapped[str | None] = mapped_column(String(32))
